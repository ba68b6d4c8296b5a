using System.CommandLine;
using Postbote.Host.Configuration;

namespace Postbote.Host.Cli;

/// <summary>
/// <c>postbote check-config [--config FILE]</c> and <c>postbote show-config [--config FILE] [-n]</c>: the configuration
/// checked (every fault as <c>FILE:LINE: KEY: reason</c>, exit status 0 when valid and 2 when not) and the effective
/// configuration printed as TOML with defaults marked (<see cref="ConfigurationPrinter"/>).
/// </summary>
internal static class ConfigCommands
{
    /// <summary>Builds <c>check-config</c>.</summary>
    /// <param name="config">The recursive <c>--config</c> option.</param>
    /// <param name="stdout">Where the findings go, one per line.</param>
    /// <param name="stderr">Where the closing count goes.</param>
    /// <returns>The command.</returns>
    public static Command CheckConfig(Option<string?> config, TextWriter stdout, TextWriter stderr)
    {
        var check = new Command("check-config",
            "check the configuration file: every error as FILE:LINE: KEY: reason, unknown keys with a suggestion; exit status 0 when valid, 2 when not");
        check.SetAction(r =>
        {
            string? path = r.GetValue(config);
            if (path is null)
            {
                stdout.WriteLine("postbote: the embedded default (no --config FILE): valid");
                return 0;
            }
            IReadOnlyList<ConfigurationDiagnostic> found;
            try
            {
                found = ConfigurationLoader.Check(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"postbote: {Path.GetFullPath(path)}: {Startup.StartupChecks.Reason(e)}");
                return 2;
            }
            foreach (ConfigurationDiagnostic d in found) stdout.WriteLine(d);
            int errors = found.Count(d => !d.IsWarning);
            int warnings = found.Count - errors;
            string file = Path.GetFullPath(path);
            if (errors == 0)
            {
                stderr.WriteLine($"postbote: {file}: valid{(warnings > 0 ? $" ({warnings} warning(s))" : "")}");
                return 0;
            }
            stderr.WriteLine($"postbote: {file}: {errors} error(s){(warnings > 0 ? $", {warnings} warning(s)" : "")}");
            return 2;
        });
        return check;
    }

    /// <summary>Builds <c>show-config</c>.</summary>
    /// <param name="config">The recursive <c>--config</c> option.</param>
    /// <param name="stdout">Where the TOML goes.</param>
    /// <param name="stderr">Where a configuration error goes.</param>
    /// <returns>The command.</returns>
    public static Command ShowConfig(Option<string?> config, TextWriter stdout, TextWriter stderr)
    {
        var onlySet = new Option<bool>("-n") { Description = "only the settings the file sets (as postconf -n)" };
        var show = new Command("show-config",
            "print the effective configuration as TOML, every setting, those the file does not set marked '# default'");
        show.Options.Add(onlySet);
        show.SetAction(r =>
        {
            string? path = r.GetValue(config);
            PostboteConfiguration c;
            ISet<string> set;
            try
            {
                c = path is null ? ConfigurationLoader.Default() : ConfigurationLoader.Load(path);
                set = path is null ? new HashSet<string>() : ConfigurationLoader.KeysSetIn(path);
            }
            catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"postbote: {Path.GetFullPath(path!)}: {e.Message} (postbote check-config lists every error)");
                return 2;
            }
            foreach (string w in c.Warnings) stderr.WriteLine("postbote: warning: " + w);
            stdout.WriteLine($"# effective configuration of {c.Source}");
            foreach (string line in ConfigurationPrinter.Print(c, set, r.GetValue(onlySet))) stdout.WriteLine(line);
            return 0;
        });
        return show;
    }
}
