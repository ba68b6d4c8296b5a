using System.Collections;
using System.Globalization;
using System.Text;
using Tomlyn.Syntax;

namespace Postbote.Host.Configuration;

/// <summary>
/// Writes the effective configuration as TOML for <c>postbote show-config</c> (as <c>postconf</c> does for Postfix):
/// every setting of <see cref="ConfigurationLoader.Settings"/>, table by table, those the file does not set marked with
/// a trailing <c># default</c>; or only those it sets (<c>show-config -n</c>, as <c>postconf -n</c>). Times are in seconds,
/// sizes in bytes, as the file takes them. A setting without a value, and the smarthost password, are comments.
/// </summary>
public static class ConfigurationPrinter
{
    /// <summary>The value a setting reports instead of a secret: printed as a comment, never the secret.</summary>
    public const string Hidden = "\0hidden";

    /// <summary>The comment after a setting the file does not set.</summary>
    public const string DefaultMark = "# default";

    /// <summary>The configuration as TOML lines.</summary>
    /// <param name="config">The effective configuration.</param>
    /// <param name="setInFile">The dotted keys the file sets (<see cref="ConfigurationLoader.KeysSetIn"/>); empty for the
    /// embedded default.</param>
    /// <param name="onlySet">Whether to print only the keys in <paramref name="setInFile"/>.</param>
    /// <returns>The lines, without line ends.</returns>
    public static IEnumerable<string> Print(PostboteConfiguration config, ISet<string> setInFile, bool onlySet)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(setInFile);
        string? table = null;
        foreach (ConfigurationSetting s in ConfigurationLoader.Settings())
        {
            bool set = setInFile.Contains(s.Key);
            if (onlySet && !set) continue;
            if (s.Table != (table ?? ""))
            {
                if (table is not null || s.Table.Length > 0) yield return "";
                yield return $"[{s.Table}]";
            }
            table = s.Table;
            string mark = set ? "" : "  " + DefaultMark;
            object? value = s.Value(config);
            yield return value switch
            {
                null => $"# {Key(s.Name)} is not set{mark}",
                Hidden => $"# {Key(s.Name)} = (set, not shown){mark}",
                _ => $"{Key(s.Name)} = {Value(value)}{mark}",
            };
        }
    }

    /// <summary>A setting's value as TOML writes it on one line (<c>(not set)</c> for <c>null</c>), also to compare two
    /// configurations setting by setting.</summary>
    /// <param name="value">A value as <see cref="ConfigurationSetting.Value"/> reads it.</param>
    /// <returns>The text.</returns>
    public static string Format(object? value) => value switch
    {
        null => "(not set)",
        Hidden => "(set, not shown)",
        _ => Value(value),
    };

    /// <summary>A key as TOML writes it: bare when it can be, else quoted.</summary>
    private static string Key(string key) => BareKeySyntax.IsBareKey(key) ? key : Quote(key);

    /// <summary>A value as TOML writes it on one line.</summary>
    private static string Value(object value) => value switch
    {
        bool b => b ? "true" : "false",
        string s => Quote(s),
        TimeSpan t => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture),
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        IEnumerable<KeyValuePair<string, object>> map => map.Any()
            ? "{ " + string.Join(", ", map.Select(e => $"{Key(e.Key)} = {Value(e.Value)}")) + " }"
            : "{}",
        IEnumerable items => "[" + string.Join(", ", items.Cast<object>().Select(Value)) + "]",
        _ => Quote(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    /// <summary>A TOML basic string (TOML 1.0 §String: quote, backslash and control characters escaped).</summary>
    private static string Quote(string s)
    {
        var b = new StringBuilder(s.Length + 2).Append('"');
        foreach (char ch in s)
        {
            if (ch is '"' or '\\') b.Append('\\').Append(ch);
            else if (char.IsControl(ch)) b.Append(CultureInfo.InvariantCulture, $"\\u{(int)ch:X4}");
            else b.Append(ch);
        }
        return b.Append('"').ToString();
    }
}
