using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>Settings known under an older name, old → new (dotted keys). The old name keeps working: the value is
    /// read as the new setting and one warning line names both. A renamed setting adds one line here.</summary>
    internal static IReadOnlyList<(string Old, string New)> Renamed { get; } =
    [
        ("tls.cert", "tls.certificate"),
        ("local.catchall", "local.catch_all"),
        ("relay.relayhost", "relay.smarthost"),
        ("limits.max_message_size", "limits.message_size"),
    ];

    /// <summary>The warning for a setting used under its old name.</summary>
    /// <param name="old">The old dotted key.</param>
    /// <param name="current">The new dotted key.</param>
    /// <returns>One line naming both.</returns>
    internal static string RenameWarning(string old, string current) =>
        $"{old} is now called {current}: read as {current}; rename it in the file";

    /// <summary>Moves every old-named key of <see cref="Renamed"/> in the model to its new name.</summary>
    /// <param name="root">The file's model; changed in place.</param>
    /// <param name="renamed">Called once per key moved, (old, new).</param>
    /// <exception cref="FormatException">A file that sets both the old and the new name.</exception>
    private static void ApplyRenames(TomlTable root, Action<string, string> renamed)
    {
        foreach ((string old, string current) in Renamed)
        {
            string[] o = old.Split('.'), n = current.Split('.');
            if (Parent(root, o, create: false) is not { } from || !from.TryGetValue(o[^1], out object? value)) continue;
            TomlTable to = Parent(root, n, create: true)!;
            if (to.ContainsKey(n[^1])) throw new FormatException($"{old} is now called {current}: set only {current}");
            from.Remove(o[^1]);
            to[n[^1]] = value;
            renamed(old, current);
        }
    }

    /// <summary>The table that holds the last segment of a dotted key, or <c>null</c> when it is missing and not
    /// created, or when a segment on the way is not a table.</summary>
    private static TomlTable? Parent(TomlTable root, string[] segments, bool create)
    {
        TomlTable t = root;
        foreach (string s in segments[..^1])
        {
            if (t.TryGetValue(s, out object? v))
            {
                if (v is not TomlTable inner) return null;
                t = inner;
            }
            else
            {
                if (!create) return null;
                var made = new TomlTable();
                t[s] = made;
                t = made;
            }
        }
        return t;
    }
}
