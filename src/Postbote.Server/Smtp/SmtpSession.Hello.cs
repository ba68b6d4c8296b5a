using System.Text;
using Microsoft.Extensions.Logging;
using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Security;

namespace Postbote.Smtp;

/// <summary>HELO and EHLO: the policy's HELO stage, the name, and the EHLO keywords of what is enabled.</summary>
internal sealed partial class SmtpSession
{
    /// <summary>HELO and EHLO (RFC 5321 §4.1.1.1); both reset the transaction (§4.1.4).</summary>
    private ValueTask Hello(SmtpVerb verb, ReadOnlySpan<byte> args)
    {
        if (args.IsEmpty || args.Contains((byte)' ') && verb == SmtpVerb.Helo)
        {
            Reply(SmtpReplies.Syntax(verb == SmtpVerb.Ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname"));
            return default;
        }
        int sp = args.IndexOf((byte)' ');
        ReadOnlySpan<byte> name = sp < 0 ? args : args[..sp];
        return HelloAsync(verb, Encoding.UTF8.GetString(name));
    }

    /// <summary>Asks the policy's HELO stage, then takes the name and answers.</summary>
    private async ValueTask HelloAsync(SmtpVerb verb, string name)
    {
        PolicyDecision d = await _server.Policy.CheckHeloAsync(Info, name, Connection.Aborted).ConfigureAwait(false);
        if (d.Verdict != PolicyVerdict.Accept)
        {
            _log.LogInformation("{Verb} {Name} refused: {Reason}", verb == SmtpVerb.Ehlo ? "EHLO" : "HELO", name, d.Reason);
            Reply(d.Reply!);
            return;
        }
        ResetTransaction();
        Helo = name;
        Info = Info with { HeloName = name };
        Esmtp = verb == SmtpVerb.Ehlo;
        if (!Esmtp)
        {
            Reply(new SmtpReply(SmtpReplyCode.Ok, null, _options.HostName));
            return;
        }
        Reply(EhloReply());
    }

    private SmtpReply EhloReply()
    {
        SmtpReply basic = _server.EhloReply;
        bool startTls = StartTlsOffered;
        string mechanisms = !Auth.HasUser ? string.Join(' ', Auth.AvailableMechanisms().Select(m => m.Name)) : "";
        if (!startTls && mechanisms.Length == 0) return basic;
        var lines = new List<string>(basic.Lines);
        // STARTTLS goes first, never on the last line: GNU gsasl looks for it only as "250-STARTTLS" and otherwise talks
        // in clear (and then finds no AUTH), as it would with Postfix, whose list does not end with it either.
        if (startTls) lines.Insert(1, "STARTTLS");
        if (mechanisms.Length > 0) lines.Add("AUTH " + mechanisms);
        return basic with { Lines = lines };
    }
}
