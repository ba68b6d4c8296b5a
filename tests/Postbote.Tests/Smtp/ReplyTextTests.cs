using System.Reflection;
using System.Text.RegularExpressions;
using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Smtp;

namespace Postbote.Tests.Smtp;

/// <summary>
/// RFC 5321 §4.2: reply text is US-ASCII. Every fixed reply of the server (the static replies of Core and Server, the
/// DATA/BDAT fault replies, and every reply literal in the source) is printable ASCII, and the replies that once carried
/// a section sign go out byte for byte as written.
/// </summary>
public partial class ReplyTextTests : IAsyncLifetime
{
    private SmtpTestServer _server = null!;

    public async Task InitializeAsync() => _server = await SmtpTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Every static <see cref="SmtpReply"/> field or property, public or not, of both assemblies.</summary>
    private static IEnumerable<(string Name, SmtpReply Reply)> StaticReplies()
    {
        const BindingFlags all = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        foreach (Assembly assembly in new[] { typeof(SmtpReply).Assembly, typeof(SmtpServer).Assembly })
        {
            foreach (Type type in assembly.GetTypes())
            {
                foreach (FieldInfo f in type.GetFields(all))
                {
                    if (f.FieldType == typeof(SmtpReply) && f.GetValue(null) is SmtpReply r) yield return (type.Name + "." + f.Name, r);
                }
                foreach (PropertyInfo p in type.GetProperties(all))
                {
                    if (p.PropertyType == typeof(SmtpReply) && p.GetIndexParameters().Length == 0 && p.GetValue(null) is SmtpReply r)
                        yield return (type.Name + "." + p.Name, r);
                }
            }
        }
    }

    private static bool IsPrintableAscii(string s) => s.All(c => c is >= ' ' and <= '~');

    [Fact]
    public void EveryStaticReplyIsPrintableAscii_Rfc5321_4_2()
    {
        var replies = StaticReplies().ToList();
        // SmtpReply's own table and the session's: a reflection that found nothing would prove nothing.
        Assert.True(replies.Count >= 12, $"only {replies.Count} static replies found: {string.Join(", ", replies.Select(r => r.Name))}");
        Assert.Contains(replies, r => r.Name == "SmtpReplies.BareLineEnding");
        foreach (var (name, reply) in replies)
        {
            foreach (string line in reply.Lines) Assert.True(IsPrintableAscii(line), $"{name}: '{line}' is not printable US-ASCII");
        }
    }

    [Fact]
    public void EveryDataFaultReplyIsPrintableAscii()
    {
        for (int bits = 1; bits < 16; bits++)
        {
            SmtpReply reply = SmtpReplies.ForFaults((DataFaults)bits);
            Assert.True(reply.Lines.All(IsPrintableAscii), $"{(DataFaults)bits}: '{reply}' is not printable US-ASCII");
        }
    }

    /// <summary>Replies made inline (<c>new SmtpReply(code, status, "text")</c>, <c>Syntax("text")</c>) are not fields:
    /// every string literal in a statement of the server's source that builds a reply must be printable ASCII too.</summary>
    [Fact]
    public void EveryReplyLiteralInTheSourceIsAscii()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Postbote.slnx"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Postbote.slnx not found above the test folder");
        var files = new[] { "src/Postbote.Server", "src/Postbote.Core" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(files);
        int checkedLiterals = 0;
        foreach (string file in files)
        {
            string text = File.ReadAllText(file);
            foreach (Match construction in ReplyConstruction().Matches(text))
            {
                foreach (Match literal in StringLiteral().Matches(construction.Value))
                {
                    checkedLiterals++;
                    Assert.True(IsPrintableAscii(literal.Groups[1].Value),
                        $"{Path.GetRelativePath(root, file)}: {literal.Value} is not printable US-ASCII");
                }
            }
        }
        Assert.True(checkedLiterals > 30, $"only {checkedLiterals} reply literals found");
    }

    [Fact]
    public async Task BareLineFeedReplyGoesOutAsWritten()
    {
        using var c = await _server.ConnectInDataAsync();
        string reply = await c.ExchangeAsync("Subject: x\r\n\r\nline\nmore\r\n.\r\n");
        Assert.Equal("554 5.6.0 Error: bare <CR> or <LF> in message data (RFC 5321 section 2.3.8)\r\n", reply);
    }

    [Fact]
    public async Task LongLineReplyGoesOutAsWritten()
    {
        using var c = await _server.ConnectInDataAsync();
        string reply = await c.ExchangeAsync("Subject: x\r\n\r\n" + new string('a', 1001) + "\r\n.\r\n");
        Assert.Equal("554 5.6.0 Error: message line longer than 1000 octets (RFC 5321 section 4.5.3.1.6)\r\n", reply);
    }

    /// <summary>From <c>new SmtpReply(</c>, <c>new(SmtpReplyCode</c> or <c>Syntax("</c> to the end of the statement.</summary>
    [GeneratedRegex(@"(new SmtpReply\(|new\(SmtpReplyCode|Syntax\("")[^;]*;")]
    private static partial Regex ReplyConstruction();

    [GeneratedRegex("\"((?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex StringLiteral();
}
