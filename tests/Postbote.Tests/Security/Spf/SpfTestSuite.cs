using System.Globalization;
using System.Text;
using Postbote.Testing.Dns;
using YamlDotNet.RepresentationModel;

namespace Postbote.Tests.Security.Spf;

/// <summary>
/// The RFC 7208 conformance suite (../shared/conformance/spf/rfc7208-tests.yml): its scenarios, each with its zone data
/// turned into one root zone for nsd, and its tests. The zone data follows the suite's own conventions: an <c>SPF</c>
/// record is also published as <c>TXT</c> unless the name has a TXT record of its own; <c>TXT: NONE</c> means no TXT;
/// <c>TIMEOUT</c> makes a query of any type not listed before it go unanswered (the relay drops it).
/// </summary>
public sealed class SpfTestSuite
{
    /// <summary>One test of the suite.</summary>
    /// <param name="Scenario">The scenario's index.</param>
    /// <param name="Name">The test's name.</param>
    /// <param name="Host">The client address.</param>
    /// <param name="MailFrom">The MAIL FROM address, <c>""</c> for the null reverse-path.</param>
    /// <param name="Helo">The HELO name.</param>
    /// <param name="Results">The results allowed, the preferred first.</param>
    /// <param name="Explanation">The explanation expected, <c>DEFAULT</c> for the default one, or <c>null</c>.</param>
    public sealed record Case(int Scenario, string Name, string Host, string MailFrom, string Helo, IReadOnlyList<string> Results, string? Explanation);

    /// <summary>One scenario: its zone file and which queries time out.</summary>
    /// <param name="Description">The scenario's description.</param>
    /// <param name="ZoneFile">The root zone (RFC 1035 §5).</param>
    /// <param name="Timeouts">Name (lower case) to the types answered before its <c>TIMEOUT</c>; any other type is dropped.</param>
    public sealed record Scenario(string Description, string ZoneFile, IReadOnlyDictionary<string, HashSet<int>> Timeouts);

    private SpfTestSuite(IReadOnlyList<Scenario> scenarios, IReadOnlyList<Case> cases)
    {
        Scenarios = scenarios;
        Cases = cases;
    }

    /// <summary>The suite file.</summary>
    public static string SuitePath
    {
        get
        {
            string? shared = Environment.GetEnvironmentVariable("POSTBOTE_SHARED");
            if (string.IsNullOrEmpty(shared))
            {
                string dir = AppContext.BaseDirectory;
                while (!File.Exists(Path.Combine(dir, "Postbote.slnx"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("Postbote.slnx not found");
                shared = Path.Combine(dir, "..", "shared");
            }
            return Path.Combine(Path.GetFullPath(shared), "conformance", "spf", "rfc7208-tests.yml");
        }
    }

    /// <summary>The suite, read once.</summary>
    public static SpfTestSuite Instance => Lazy.Value;

    private static readonly Lazy<SpfTestSuite> Lazy = new(() => Load(SuitePath));

    /// <summary>The scenarios in file order.</summary>
    public IReadOnlyList<Scenario> Scenarios { get; }

    /// <summary>Every test, in file order.</summary>
    public IReadOnlyList<Case> Cases { get; }

    private static SpfTestSuite Load(string path)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path, Encoding.UTF8)) yaml.Load(reader);
        var scenarios = new List<Scenario>();
        var cases = new List<Case>();
        foreach (YamlDocument doc in yaml.Documents)
        {
            var root = (YamlMappingNode)doc.RootNode;
            int index = scenarios.Count;
            foreach (var (key, value) in (YamlMappingNode)root["tests"])
            {
                var t = (YamlMappingNode)value;
                string Get(string k) => t.Children.TryGetValue(k, out YamlNode? n) ? ((YamlScalarNode)n).Value ?? "" : "";
                IReadOnlyList<string> results = t["result"] is YamlSequenceNode list
                    ? list.Select(n => ((YamlScalarNode)n).Value!).ToList()
                    : [((YamlScalarNode)t["result"]).Value!];
                string? explanation = t.Children.ContainsKey("explanation") ? Get("explanation") : null;
                cases.Add(new Case(index, ((YamlScalarNode)key).Value!, Get("host"), Get("mailfrom"), Get("helo"), results, explanation));
            }
            scenarios.Add(ToScenario(((YamlScalarNode)root["description"]).Value!, (YamlMappingNode)root["zonedata"]));
        }
        return new SpfTestSuite(scenarios, cases);
    }

    private static Scenario ToScenario(string description, YamlMappingNode zoneData)
    {
        var zone = new StringBuilder("""
            $ORIGIN .
            $TTL 300
            .    IN SOA ns.spf-suite. hostmaster.spf-suite. 1 3600 600 86400 60
            .    IN NS  ns.spf-suite.

            """);
        var timeouts = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        foreach (var (key, value) in zoneData)
        {
            string name = ((YamlScalarNode)key).Value!;
            string owner = ZoneName(name);
            var records = new List<(string Type, YamlNode Value)>();
            var generated = new List<YamlNode>();
            bool generate = true;
            HashSet<int>? answered = null;
            var seen = new HashSet<int>();
            foreach (YamlNode entry in (YamlSequenceNode)value)
            {
                if (entry is YamlScalarNode { Value: "TIMEOUT" })
                {
                    answered ??= [.. seen];
                    continue;
                }
                foreach (var (tk, tv) in (YamlMappingNode)entry)
                {
                    string type = ((YamlScalarNode)tk).Value!;
                    if (type == "TXT") generate = false;
                    else if (type == "SPF" && generate) generated.Add(tv);
                    if (tv is YamlScalarNode { Value: "NONE" }) continue;
                    seen.Add(DnsWire.Types.TryGetValue(type, out int n) ? n : 99);
                    records.Add((type, tv));
                }
            }
            if (generate) records.AddRange(generated.Select(g => ("TXT", g)));
            if (answered is not null) timeouts[name.TrimEnd('.').ToLowerInvariant()] = answered;
            foreach (var (type, v) in records)
                zone.Append(owner).Append(" IN ").Append(type).Append(' ').Append(RData(type, v)).Append('\n');
            if (records.Count == 0 && answered is null)
                zone.Append(owner).Append(" IN HINFO \"empty\" \"name\"\n"); // the name exists without the asked types
        }
        return new Scenario(description, zone.ToString(), timeouts);
    }

    private static string RData(string type, YamlNode v)
    {
        switch (type)
        {
            case "SPF":
            case "TXT":
                IEnumerable<string> strings = v is YamlSequenceNode list ? list.Select(n => ((YamlScalarNode)n).Value ?? "") : [((YamlScalarNode)v).Value ?? ""];
                var parts = strings.SelectMany(Chunks).ToList();
                return parts.Count == 0 ? "\"\"" : string.Join(' ', parts);
            case "MX":
                var mx = (YamlSequenceNode)v;
                return ((YamlScalarNode)mx[0]).Value + " " + ZoneName(((YamlScalarNode)mx[1]).Value!);
            case "PTR":
            case "CNAME":
                return ZoneName(((YamlScalarNode)v).Value!);
            default:
                return ((YamlScalarNode)v).Value!;
        }
    }

    /// <summary>A character-string as the zone file writes it: each character below 256 is that octet (the suite writes
    /// raw octets as <c>\xNN</c>), others UTF-8; quoted, with <c>\DDD</c> for what is not plain; split at 255 octets.</summary>
    private static IEnumerable<string> Chunks(string s)
    {
        var bytes = new List<byte>();
        foreach (char c in s)
        {
            if (c < 256) bytes.Add((byte)c);
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        for (int at = 0; at < bytes.Count || at == 0; at += 255)
        {
            var q = new StringBuilder("\"");
            foreach (byte b in bytes.Skip(at).Take(255))
            {
                if (b is < 0x20 or > 0x7E or (byte)'"' or (byte)'\\') q.Append('\\').Append(b.ToString("D3", CultureInfo.InvariantCulture));
                else q.Append((char)b);
            }
            yield return q.Append('"').ToString();
            if (bytes.Count == 0) yield break;
        }
    }

    /// <summary>A name as the zone file writes it: absolute, with <c>\DDD</c> for octets other than letters, digits,
    /// hyphen and underscore.</summary>
    private static string ZoneName(string name)
    {
        string n = name.TrimEnd('.');
        if (n.Length == 0) return ".";
        var s = new StringBuilder();
        foreach (char c in n)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') s.Append(c);
            else s.Append('\\').Append(((int)c).ToString("D3", CultureInfo.InvariantCulture));
        }
        return s.Append('.').ToString();
    }
}
