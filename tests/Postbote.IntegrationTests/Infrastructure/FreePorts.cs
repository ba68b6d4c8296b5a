using System.Net;
using System.Net.Sockets;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>Loopback ports that nothing listens on right now.</summary>
public static class FreePorts
{
    private static readonly HashSet<int> Handed = [];

    /// <summary>A free TCP port on 127.0.0.1, never the same one twice in this test run.</summary>
    public static int Next()
    {
        lock (Handed)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Handed.Add(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException("no free loopback port found");
    }
}
