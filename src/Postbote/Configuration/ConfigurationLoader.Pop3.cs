using Postbote.Pop3;
using Tomlyn.Model;

namespace Postbote.Host.Configuration;

public static partial class ConfigurationLoader
{
    /// <summary>
    /// <c>[pop3]</c>: <c>listen</c> (clear text with STLS), <c>listen_tls</c> (implicit TLS), <c>plaintext_auth</c>,
    /// <c>smtp_after_pop</c> (seconds, 0 = off) and <c>idle_timeout</c> (seconds, at least 600 as RFC 1939 §3 asks).
    /// Without the table no POP3 listener runs. The connection limits come from <c>[limits]</c>; they are copied when the
    /// service is composed, since <c>[limits]</c> may follow <c>[pop3]</c> in the file.
    /// </summary>
    /// <param name="t">The table.</param>
    /// <param name="c">The configuration to fill.</param>
    /// <exception cref="FormatException">An unknown key or a bad value; one line naming the setting.</exception>
    private static void ReadPop3(TomlTable t, PostboteConfiguration c)
    {
        var listen = new List<string>();
        var listenTls = new List<string>();
        foreach (var (k, v) in t)
        {
            string name = "pop3." + k;
            switch (k)
            {
                case "listen": listen = Strings(name, v).ToList(); break;
                case "listen_tls": listenTls = Strings(name, v).ToList(); break;
                case "plaintext_auth": c.Pop3.AllowPlaintextAuth = Bool(name, v); break;
                case "smtp_after_pop": c.Pop3.SmtpAfterPop = Seconds(name, v); break;
                case "idle_timeout":
                    TimeSpan idle = Seconds(name, v);
                    // RFC 1939 §3: "an inactivity autologout timer MUST be of at least 10 minutes' duration".
                    if (idle < Pop3ServerLimits.MinimumIdleTimeout)
                        throw new FormatException($"{name} must be at least {(int)Pop3ServerLimits.MinimumIdleTimeout.TotalSeconds} seconds (RFC 1939 §3)");
                    c.Pop3.Limits.IdleTimeout = idle;
                    break;
                default: throw Unknown(name);
            }
        }
        c.Pop3.Listeners = listen.Select(s => new Pop3ListenerOptions(Endpoint("pop3.listen", s)))
            .Concat(listenTls.Select(s => new Pop3ListenerOptions(Endpoint("pop3.listen_tls", s), ImplicitTls: true)))
            .ToList();
    }
}
