using System.Text;
using Postbote.Core;
using Postbote.Protocol.Smtp;

namespace Postbote.Smtp;

/// <summary>The syntax of MAIL (RFC 5321 §4.1.1.2) and RCPT (§4.1.1.3) with the parameters of the enabled extensions,
/// and the reply for each way they can be wrong. The session checks the command's sequence before, the policy after.</summary>
internal static class EnvelopeCommandSyntax
{
    /// <summary>Parses MAIL's arguments.</summary>
    /// <param name="line">The whole command line without CRLF.</param>
    /// <param name="args">The arguments after the verb.</param>
    /// <param name="extensions">The extensions in effect for the session.</param>
    /// <param name="messageSizeLimit">The message size limit in octets, for the SIZE parameter (RFC 1870).</param>
    /// <param name="reversePath">The reverse-path, <c>null</c> for <c>&lt;&gt;</c>.</param>
    /// <param name="mp">The parameters.</param>
    /// <returns><c>null</c> when they parse, else the reply for the client.</returns>
    public static SmtpReply? Mail(ReadOnlySpan<byte> line, ReadOnlySpan<byte> args, SmtpExtensions extensions, long messageSizeLimit,
        out Mailbox? reversePath, out MailParameters mp)
    {
        reversePath = null;
        mp = default;
        if (!SmtpCommandParser.HasPathPrefix(line, SmtpVerb.Mail)) return SmtpReplies.Syntax("Syntax: MAIL FROM:<address>");
        // The path is parsed allowing UTF-8; whether SMTPUTF8 was given is known only from the parameters after it.
        PathParseStatus ps = PathParser.TryParse(args, allowNull: true, allowPostmaster: false, allowUtf8: true, out reversePath, out int used);
        if (ps != PathParseStatus.Ok) return SmtpReplies.BadPath(ps, sender: true);
        ParameterParseStatus pps = EsmtpParameterParser.ParseMail(args[used..], extensions, out mp);
        if (pps != ParameterParseStatus.Ok) return SmtpReplies.ParameterError(pps, mp.FaultKeyword);
        if (!mp.SmtpUtf8 && !Ascii.IsValid(args[..used]))
            return SmtpReplies.NonAsciiAddress;
        if (mp.Size is { } size && size > messageSizeLimit)
            return SmtpReplies.SizeExceedsLimit;
        return null;
    }

    /// <summary>Parses RCPT's arguments.</summary>
    /// <param name="line">The whole command line without CRLF.</param>
    /// <param name="args">The arguments after the verb.</param>
    /// <param name="utf8">Whether MAIL carried SMTPUTF8 (RFC 6531), which allows UTF-8 in the address.</param>
    /// <param name="extensions">The extensions in effect for the session.</param>
    /// <param name="forwardPath">The forward-path.</param>
    /// <param name="rp">The parameters.</param>
    /// <returns><c>null</c> when they parse, else the reply for the client.</returns>
    public static SmtpReply? Rcpt(ReadOnlySpan<byte> line, ReadOnlySpan<byte> args, bool utf8, SmtpExtensions extensions,
        out Mailbox? forwardPath, out RcptParameters rp)
    {
        forwardPath = null;
        rp = default;
        if (!SmtpCommandParser.HasPathPrefix(line, SmtpVerb.Rcpt)) return SmtpReplies.Syntax("Syntax: RCPT TO:<address>");
        PathParseStatus ps = PathParser.TryParse(args, allowNull: false, allowPostmaster: true, allowUtf8: utf8, out forwardPath, out int used);
        if (ps == PathParseStatus.NonAsciiNotAllowed)
            return SmtpReplies.NonAsciiAddress;
        // A malformed source route is PathParseStatus.BadSourceRoute, so it gets 501 5.1.3 here and not the relay refusal.
        if (ps == PathParseStatus.Syntax && LooksLikeRelayTrick(args))
            return SmtpReplies.RelayAccessDenied;
        if (ps != PathParseStatus.Ok) return SmtpReplies.BadPath(ps, sender: false);
        ParameterParseStatus pps = EsmtpParameterParser.ParseRcpt(args[used..], extensions, out rp);
        if (pps != ParameterParseStatus.Ok) return SmtpReplies.ParameterError(pps, rp.FaultKeyword);
        return null;
    }

    /// <summary>A forward-path such as <c>&lt;user@foreign@local&gt;</c>: not in the grammar, but a classic relay probe
    /// that mail admins expect to see refused as such (5.7.1) rather than as a syntax error.</summary>
    private static bool LooksLikeRelayTrick(ReadOnlySpan<byte> args)
    {
        int close = args.IndexOf((byte)'>');
        ReadOnlySpan<byte> path = close > 0 ? args[..close] : args;
        return path.Count((byte)'@') > 1 && !path.Contains((byte)':') && !path.Contains((byte)'"');
    }
}
