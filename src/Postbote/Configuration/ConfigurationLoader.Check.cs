using System.Text.RegularExpressions;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>
    /// Checks a configuration file and finds every fault, not only the first: all syntax errors, or, when the syntax is
    /// right, every wrong setting (read again without each one found, so the next shows), each with its line from the
    /// syntax tree; an unknown key with the nearest known one ("did you mean"); and a warning per renamed setting.
    /// </summary>
    /// <param name="path">The TOML file.</param>
    /// <returns>The findings in the order found, warnings first; empty when the file is right.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static IReadOnlyList<ConfigurationDiagnostic> Check(string path)
    {
        string file = Path.GetFullPath(path);
        var found = new List<ConfigurationDiagnostic>();
        if (Directory.Exists(path))
        {
            found.Add(new(file, 0, "toml", "is a directory, not a TOML file"));
            return found;
        }
        string text = File.ReadAllText(path);
        DocumentSyntax syntax = SyntaxParser.Parse(text, file, validate: true);
        if (syntax.HasErrors)
        {
            foreach (DiagnosticMessage d in syntax.Diagnostics.Where(d => d.Kind == DiagnosticMessageKind.Error))
                found.Add(new(file, d.Span.Start.Line + 1, "toml", Describe(d.Message)));
            return found;
        }
        Dictionary<string, KeyPlace> places = KeyPlaces(syntax);
        TomlTable root;
        try
        {
            root = Model(text);
            ApplyRenames(root, (old, current) =>
            {
                KeyPlace at = places.GetValueOrDefault(old, new KeyPlace(0, old.Split('.')));
                places.TryAdd(current, at with { Segments = current.Split('.') });
                found.Add(new(file, at.Line, old, RenameWarning(old, current), IsWarning: true));
            });
        }
        catch (FormatException e)
        {
            found.Add(new(file, FirstLine(e.Message, places, out string key), key, e.Message));
            return found;
        }
        // Each round takes out the setting it faulted; a fault that names no setting of the file ends the search.
        for (int round = 0; round <= places.Count; round++)
        {
            try
            {
                FromModel(root);
                break;
            }
            catch (FormatException e)
            {
                if (Attribute(e.Message, places) is not { } hit)
                {
                    found.Add(new(file, 0, "configuration", e.Message));
                    break;
                }
                found.Add(new(file, hit.Place.Line, hit.Key, hit.Reason));
                if (Parent(root, hit.Place.Segments, create: false) is not { } parent || !parent.Remove(hit.Place.Segments[^1])) break;
                places.Remove(hit.Key);
            }
        }
        return found;
    }

    /// <summary>The dotted keys of <see cref="Settings"/> that a file sets (after renames), for <c>show-config</c>.</summary>
    /// <param name="path">The TOML file.</param>
    /// <returns>The keys.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="FormatException">The file is not valid TOML.</exception>
    public static ISet<string> KeysSetIn(string path)
    {
        TomlTable root = Model(File.ReadAllText(path));
        ApplyRenames(root, static (_, _) => { });
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (ConfigurationSetting s in Settings())
        {
            string[] segments = s.Key.Split('.');
            if (Parent(root, segments, create: false) is { } t && t.ContainsKey(segments[^1])) set.Add(s.Key);
        }
        return set;
    }

    /// <summary>Where a key stands in the file: its 1-based line and its path segments in the model.</summary>
    private sealed record KeyPlace(int Line, string[] Segments);

    /// <summary>Every key and table of the file with its line, under its dotted name (segments that are not bare keys
    /// both quoted and as written, as messages spell them either way).</summary>
    private static Dictionary<string, KeyPlace> KeyPlaces(DocumentSyntax syntax)
    {
        var places = new Dictionary<string, KeyPlace>(StringComparer.Ordinal);
        AddItems(places, [], syntax.KeyValues);
        foreach (TableSyntaxBase table in syntax.Tables)
        {
            string[] prefix = Segments(table.Name);
            Add(places, prefix, table.Span.Start.Line + 1);
            AddItems(places, prefix, table.Items);
        }
        return places;
    }

    private static void AddItems(Dictionary<string, KeyPlace> places, string[] prefix, IEnumerable<KeyValueSyntax> items)
    {
        foreach (KeyValueSyntax kv in items)
        {
            string[] path = [.. prefix, .. Segments(kv.Key)];
            Add(places, path, kv.Span.Start.Line + 1);
            if (kv.Value is InlineTableSyntax inline)
                AddItems(places, path, inline.Items.Select(i => i.KeyValue).OfType<KeyValueSyntax>());
        }
    }

    private static void Add(Dictionary<string, KeyPlace> places, string[] path, int line)
    {
        var place = new KeyPlace(line, path);
        places.TryAdd(string.Join('.', path), place);
        places.TryAdd(string.Join('.', path.Select(s => BareKeySyntax.IsBareKey(s) ? s : $"\"{s}\"")), place);
    }

    private static string[] Segments(KeySyntax? key)
    {
        if (key is null) return [];
        var segments = new List<string> { Text(key.Key) };
        foreach (DottedKeyItemSyntax dotted in key.DotKeys) segments.Add(Text(dotted.Key));
        return [.. segments];

        static string Text(BareKeyOrStringValueSyntax? k) => k switch
        {
            BareKeySyntax bare => bare.Key?.Text ?? "",
            StringValueSyntax s => s.Value ?? "",
            _ => "",
        };
    }

    /// <summary>The setting a loader message is about: <c>unknown setting 'KEY'</c>, else the key of the file named
    /// first in the message (the longest at one place), with the reason said without it.</summary>
    private static (string Key, KeyPlace Place, string Reason)? Attribute(string message, Dictionary<string, KeyPlace> places)
    {
        Match unknown = UnknownSetting().Match(message);
        if (unknown.Success && places.TryGetValue(unknown.Groups[1].Value, out KeyPlace? at))
        {
            string key = unknown.Groups[1].Value;
            string? near = Nearest(key);
            return (key, at, near is null ? "unknown setting (see docs/configuration.md)" : $"unknown setting; did you mean \"{near}\"?");
        }
        string? best = null;
        int bestAt = int.MaxValue;
        foreach (string key in places.Keys)
        {
            int i = IndexOfKey(message, key);
            if (i >= 0 && (i < bestAt || i == bestAt && key.Length > best!.Length))
            {
                best = key;
                bestAt = i;
            }
        }
        int named = best?.Length ?? 0;
        if (best is null)
        {
            // A check of a whole options object names the setting without its table ("idle_timeout must be positive").
            foreach (var (key, place) in places)
            {
                int i = IndexOfKey(message, place.Segments[^1]);
                if (i >= 0 && i < bestAt && place.Segments.Length > 1)
                {
                    best = key;
                    bestAt = i;
                    named = place.Segments[^1].Length;
                }
            }
        }
        if (best is null) return null;
        string reason = message;
        if (bestAt == 0) reason = message[named..].TrimStart(':', ' ');
        else if (message.StartsWith($"[{best}] ", StringComparison.Ordinal)) reason = message[(best.Length + 3)..];
        return (best, places[best], reason.Length == 0 ? message : reason);
    }

    private static int FirstLine(string message, Dictionary<string, KeyPlace> places, out string key)
    {
        if (Attribute(message, places) is { } hit)
        {
            key = hit.Key;
            return hit.Place.Line;
        }
        key = "configuration";
        return 0;
    }

    /// <summary>Where <paramref name="key"/> stands in <paramref name="message"/> as a whole key (not inside a longer
    /// one), or -1.</summary>
    private static int IndexOfKey(string message, string key)
    {
        for (int i = message.IndexOf(key, StringComparison.Ordinal); i >= 0; i = message.IndexOf(key, i + 1, StringComparison.Ordinal))
        {
            bool before = i == 0 || !IsKeyChar(message[i - 1]);
            int end = i + key.Length;
            bool after = end == message.Length || !IsKeyChar(message[end]) && message[end] != '.';
            if (before && after) return i;
        }
        return -1;

        static bool IsKeyChar(char ch) => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.';
    }

    /// <summary>The known setting nearest to an unknown one: in the same table first, at most a third of the name's
    /// length in edits (at least 2); <c>null</c> when none is that near.</summary>
    private static string? Nearest(string key)
    {
        int dot = key.LastIndexOf('.');
        string table = dot > 0 ? key[..dot] : "";
        IEnumerable<string> known = Settings().Select(s => s.Key)
            .Concat(Settings().Select(s => s.Table).Where(t => t.Length > 0).Distinct());
        var candidates = known.Select(k => (Key: k, Distance: Distance(key, k), SameTable: (k.LastIndexOf('.') is var d and > 0 ? k[..d] : "") == table))
            .Where(c => c.Distance <= Math.Max(2, key.Length / 3))
            .OrderBy(c => c.SameTable ? 0 : 1).ThenBy(c => c.Distance).ThenBy(c => c.Key, StringComparer.Ordinal);
        return candidates.Select(c => c.Key).FirstOrDefault();
    }

    /// <summary>Levenshtein distance (insertions, deletions, substitutions) between two keys.</summary>
    private static int Distance(string a, string b)
    {
        var row = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) row[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int up = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = up;
            }
        }
        return row[b.Length];
    }

    [GeneratedRegex(@"^unknown setting '(.+)' \(", RegexOptions.CultureInvariant)]
    private static partial Regex UnknownSetting();

}
