namespace Postbote.Host.Sendmail;

/// <summary>
/// The command line of <c>postbote sendmail</c> (and of the executable invoked as <c>sendmail</c> or <c>mailq</c>), in
/// the syntax of sendmail(8) as Postfix reads it: <c>[--config FILE] [-t] [-f sender] [-i|-oi] [-F name] [-bs] [-bp]
/// [-q] [--] recipients…</c>; an option's value may follow it directly (<c>-fsender</c>) or as the next word. Options
/// that other programs pass and that change nothing here are accepted and ignored, as Postfix does: <c>-oX…</c> other
/// than <c>-oi</c>, <c>-bm</c>, <c>-v</c>, <c>-em</c>/<c>-ep</c>/<c>-eq</c>, <c>-N dsn</c>, <c>-R ret</c>, <c>-X file</c>,
/// <c>-B type</c>, <c>-h n</c>, <c>-U</c>, <c>-L label</c>.
/// </summary>
public sealed class SendmailArguments
{
    /// <summary>What the command does.</summary>
    public SendmailMode Mode { get; private set; } = SendmailMode.Send;

    /// <summary><c>--config FILE</c>, or <c>null</c> for the embedded default.</summary>
    public string? ConfigFile { get; set; }

    /// <summary><c>-t</c>: recipients also from the To, Cc and Bcc headers (Bcc is then removed).</summary>
    public bool RecipientsFromHeaders { get; private set; }

    /// <summary><c>-f</c>: the envelope sender; empty for the null reverse-path (<c>-f ''</c> or <c>-f '&lt;&gt;'</c>).</summary>
    public string? Sender { get; private set; }

    /// <summary><c>-F</c>: the full name for a From header that the command adds.</summary>
    public string? FullName { get; private set; }

    /// <summary><c>-i</c> or <c>-oi</c>: a line with a single dot does not end the message; only the end of input does.</summary>
    public bool IgnoreDots { get; private set; }

    /// <summary>The recipients on the command line.</summary>
    public IList<string> Recipients { get; } = new List<string>();

    /// <summary>Parses the words after the command name.</summary>
    /// <param name="args">The words.</param>
    /// <param name="mailq">Whether the executable was invoked as <c>mailq</c> (<c>-bp</c> then).</param>
    /// <returns>The parsed command line.</returns>
    /// <exception cref="FormatException">An option without its value, or one that is not known; the message names
    /// it.</exception>
    public static SendmailArguments Parse(IReadOnlyList<string> args, bool mailq = false)
    {
        ArgumentNullException.ThrowIfNull(args);
        var a = new SendmailArguments();
        if (mailq) a.Mode = SendmailMode.ListQueue;
        bool options = true;
        for (int i = 0; i < args.Count; i++)
        {
            string w = args[i];
            if (!options || w.Length < 2 || w[0] != '-')
            {
                a.Recipients.Add(w);
                continue;
            }
            if (w == "--")
            {
                options = false;
                continue;
            }
            if (w == "--config" || w.StartsWith("--config=", StringComparison.Ordinal))
            {
                a.ConfigFile = w.Length > 8 ? w[9..] : Value(args, ref i, w, "");
                continue;
            }
            char flag = w[1];
            string rest = w[2..];
            switch (flag)
            {
                case 't': a.RecipientsFromHeaders = true; break;
                case 'i': a.IgnoreDots = true; break;
                case 'f': a.Sender = Value(args, ref i, "-f", rest).Trim().TrimStart('<').TrimEnd('>'); break;
                case 'r': a.Sender = Value(args, ref i, "-r", rest).Trim().TrimStart('<').TrimEnd('>'); break;
                case 'F': a.FullName = Value(args, ref i, "-F", rest); break;
                case 'q': a.Mode = SendmailMode.Flush; break;
                case 'o':
                    if (rest == "i") a.IgnoreDots = true;
                    break;
                case 'b':
                    a.Mode = rest switch
                    {
                        "s" => SendmailMode.SmtpOnStandardInput,
                        "p" => SendmailMode.ListQueue,
                        "m" => SendmailMode.Send,
                        _ => throw new FormatException($"-b{rest}: not supported (-bm, -bp and -bs are)"),
                    };
                    break;
                case 'N' or 'R' or 'X' or 'B' or 'h' or 'L' or 'O' or 'V' or 'C':
                    _ = Value(args, ref i, "-" + flag, rest);
                    break;
                case 'v' or 'e' or 'U' or 'm' or 'n': break;
                default: throw new FormatException($"{w}: unknown option");
            }
        }
        return a;
    }

    private static string Value(IReadOnlyList<string> args, ref int i, string option, string attached)
    {
        if (attached.Length > 0) return attached;
        if (i + 1 >= args.Count) throw new FormatException($"{option} needs a value");
        return args[++i];
    }
}
