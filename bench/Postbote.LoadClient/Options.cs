using System.Globalization;
using System.Net;

namespace Postbote.LoadClient;

/// <summary>Command-line options of the load client, validated and bounded.</summary>
internal sealed class Options
{
    public required IPEndPoint Endpoint { get; init; }
    public string Mode { get; private set; } = "pipeline";
    public int Sessions { get; private set; } = 10;
    public long Messages { get; private set; } = 5000;
    public int Size { get; private set; } = 2048;
    public int TimeoutSeconds { get; private set; } = 60;
    public string From { get; private set; } = "bench-from@example.com";
    public string To { get; private set; } = "sink@bench.test";
    public string? Label { get; private set; }
    /// <summary>A message file to send instead of the generated one (e.g. a DKIM-signed message); <c>--size</c> is
    /// then ignored.</summary>
    public string? MessageFile { get; private set; }

    /// <summary>Parses the arguments; <c>null</c> on any error, after printing why.</summary>
    public static Options? Parse(string[] args)
    {
        if (args.Length == 0 || !IPEndPoint.TryParse(args[0], out IPEndPoint? ep) || ep.Port == 0) return null;
        if (!IPAddress.IsLoopback(ep.Address))
        {
            Console.Error.WriteLine("pb-loadclient: refusing non-loopback target " + ep.Address);
            return null;
        }
        var o = new Options { Endpoint = ep };
        for (int i = 1; i < args.Length; i++)
        {
            string key = args[i];
            if (i + 1 >= args.Length) return null;
            string v = args[++i];
            switch (key)
            {
                case "--mode" when v is "pipeline" or "big": o.Mode = v; break;
                case "--sessions": o.Sessions = Bounded(v, 1, 5000); break;
                case "--messages": o.Messages = Bounded(v, 1, 10_000_000); break;
                case "--size": o.Size = Bounded(v, 1, 1 << 30); break;
                case "--timeout": o.TimeoutSeconds = Bounded(v, 1, 600); break;
                case "--from": o.From = v; break;
                case "--to": o.To = v; break;
                case "--label": o.Label = v; break;
                case "--message": o.MessageFile = v; break;
                default: return null;
            }
        }
        if (o.Sessions < 1 || o.Messages < 1 || o.Size < 1 || o.TimeoutSeconds < 1) return null;
        if (o.MessageFile is not null && !File.Exists(o.MessageFile))
        {
            Console.Error.WriteLine("pb-loadclient: no such message file " + o.MessageFile);
            return null;
        }
        return o;
    }

    private static int Bounded(string v, int min, int max) =>
        int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max ? n : -1;
}
