using BenchmarkDotNet.Attributes;
using Postbote.Core;
using Postbote.Protocol.Smtp;

namespace Postbote.Benchmarks;

/// <summary>
/// The per-command parsers of RFC 5321 §4.1: verb split, path (§4.1.2) and MAIL parameters, on the lines a typical
/// client sends. The design goal is no allocation per command; the path parser allocates the <see cref="Mailbox"/>
/// it returns (two strings and the record).
/// </summary>
[MemoryDiagnoser]
public class CommandParsingBenchmarks
{
    private static readonly byte[] MailLine = "MAIL FROM:<bench-from@example.com> SIZE=2048 BODY=8BITMIME"u8.ToArray();
    private static readonly byte[] RcptLine = "RCPT TO:<sink@bench.test>"u8.ToArray();
    private static readonly byte[] DataLine = "DATA"u8.ToArray();
    private static readonly byte[] Path = "<bench-from@example.com>"u8.ToArray();
    private static readonly byte[] MailParams = " SIZE=2048 BODY=8BITMIME"u8.ToArray();

    /// <summary>Verb of a MAIL line (the arguments start after <c>FROM:</c>).</summary>
    [Benchmark]
    public SmtpVerb ParseVerbMail() => SmtpCommandParser.ParseVerb(MailLine, out _);

    /// <summary>Verb of a RCPT line.</summary>
    [Benchmark]
    public SmtpVerb ParseVerbRcpt() => SmtpCommandParser.ParseVerb(RcptLine, out _);

    /// <summary>Verb of a DATA line.</summary>
    [Benchmark]
    public SmtpVerb ParseVerbData() => SmtpCommandParser.ParseVerb(DataLine, out _);

    /// <summary>A reverse-path <c>&lt;local@domain&gt;</c>.</summary>
    [Benchmark]
    public Mailbox? PathTryParse()
    {
        PathParser.TryParse(Path, allowNull: true, allowPostmaster: false, allowUtf8: false, out Mailbox? m, out _);
        return m;
    }

    /// <summary>MAIL parameters <c>SIZE=2048 BODY=8BITMIME</c>.</summary>
    [Benchmark]
    public ParameterParseStatus EsmtpParseMail() =>
        EsmtpParameterParser.ParseMail(MailParams, SmtpExtensions.Default, out _);

    /// <summary>The whole MAIL command: verb, path, parameters.</summary>
    [Benchmark]
    public ParameterParseStatus MailCommand()
    {
        SmtpCommandParser.ParseVerb(MailLine, out ReadOnlySpan<byte> args);
        PathParser.TryParse(args, allowNull: true, allowPostmaster: false, allowUtf8: false, out _, out int consumed);
        return EsmtpParameterParser.ParseMail(args[consumed..], SmtpExtensions.Default, out _);
    }
}
