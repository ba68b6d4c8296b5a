using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Postbote.Core;
using Postbote.Delivery;
using Postbote.IO;
using Postbote.Queue;

namespace Postbote.Tests.Delivery;

public sealed class MaildirDeliveryAgentTests : IDisposable
{
    private static readonly byte[] Body = Encoding.ASCII.GetBytes("Received: from client\r\nSubject: test\r\n\r\nHello, world.\r\n");
    private static readonly DateTimeOffset Received = new(2024, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private readonly DeliveryDirectory _dir = new(SyncMode.SyncFs);

    public void Dispose() => _dir.Dispose();

    private MaildirDeliveryAgent Agent(string host = "mx1.example", bool saveCrlf = false) =>
        new(new LocalDeliveryOptions { MaildirRoot = _dir.Combine("mail"), SaveCrlf = saveCrlf }, _dir.Barrier, NullLogger<MaildirDeliveryAgent>.Instance, host);

    /// <summary>The bytes with every CRLF as LF: how a copy is stored by default.</summary>
    private static byte[] Lf(ReadOnlySpan<byte> crlf) => Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(crlf).Replace("\r\n", "\n", StringComparison.Ordinal));

    private DeliveryRequest Request(Mailbox? from, bool recovered, params string[] mailboxes)
    {
        string bodyPath = _dir.Combine("body.eml");
        File.WriteAllBytes(bodyPath, Body);
        var recipients = mailboxes.Select(m => new Recipient(new Mailbox(m[..m.LastIndexOf('@')], m[(m.LastIndexOf('@') + 1)..]))).ToArray();
        var envelope = new Envelope(new QueueId("0123456789ABCDEF"), from, recipients, Received, Size: Body.Length);
        return new DeliveryRequest(envelope, bodyPath, recipients, recovered);
    }

    private string[] NewFiles(string domain, string user) => Directory.GetFiles(_dir.Combine("mail", domain, user, "new"));

    [Fact]
    public async Task CopyIsReturnPathDeliveredToThenTheBodyBytes()
    {
        MaildirDeliveryAgent agent = Agent();
        IReadOnlyList<RecipientResult> results = await agent.DeliverAsync(
            Request(new Mailbox("sender", "example.org"), false, "alice@example.com"), CancellationToken.None);

        RecipientResult r = Assert.Single(results);
        Assert.Equal(DeliveryOutcome.Delivered, r.Outcome);
        Assert.Equal("250 2.0.0 delivered to maildir", r.ReplyText);
        string file = Assert.Single(NewFiles("example.com", "alice"));
        byte[] expected = [.. "Return-Path: <sender@example.org>\nDelivered-To: alice@example.com\n"u8, .. Lf(Body)];
        Assert.Equal(expected, File.ReadAllBytes(file));
        // S= the stored size, W= the size with CRLF line ends (Dovecot's RFC822.SIZE).
        int crlfSize = expected.Length + expected.Count(b => b == (byte)'\n');
        Assert.EndsWith($",S={expected.Length},W={crlfSize}", file, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_dir.Combine("mail", "example.com", "alice", "tmp")));
        Assert.True(Directory.Exists(_dir.Combine("mail", "example.com", "alice", "cur")));
    }

    [Fact]
    public async Task AddedHeaderFieldsGoBetweenTheTraceHeadersAndTheStoredMessageAndCountInTheSizes()
    {
        DeliveryRequest plain = Request(new Mailbox("sender", "example.org"), false, "alice@example.com");
        DeliveryRequest request = plain with
        {
            Envelope = plain.Envelope with { AddedHeaders = "Authentication-Results: mx1.example;\r\n\tspf=pass smtp.mailfrom=example.org\r\n" },
        };

        await Agent().DeliverAsync(request, CancellationToken.None);

        string file = Assert.Single(NewFiles("example.com", "alice"));
        byte[] expected = [.. "Return-Path: <sender@example.org>\nDelivered-To: alice@example.com\n"u8,
            .. "Authentication-Results: mx1.example;\n\tspf=pass smtp.mailfrom=example.org\n"u8, .. Lf(Body)];
        Assert.Equal(expected, File.ReadAllBytes(file));
        int crlfSize = expected.Length + expected.Count(b => b == (byte)'\n');
        Assert.EndsWith($",S={expected.Length},W={crlfSize}", file, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AQuarantinedMessageGoesIntoTheJunkFolderOfTheMailbox()
    {
        DeliveryRequest plain = Request(new Mailbox("sender", "example.org"), false, "alice@example.com");
        DeliveryRequest request = plain with { Envelope = plain.Envelope with { Quarantine = true } };

        RecipientResult r = Assert.Single(await Agent().DeliverAsync(request, CancellationToken.None));

        Assert.Equal(DeliveryOutcome.Delivered, r.Outcome);
        Assert.Empty(NewFiles("example.com", "alice"));
        string junk = _dir.Combine("mail", "example.com", "alice", ".Junk");
        string file = Assert.Single(Directory.GetFiles(Path.Combine(junk, "new")));
        Assert.EndsWith("\n" + Encoding.ASCII.GetString(Lf(Body)), File.ReadAllText(file), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(junk, "maildirfolder")));
        Assert.True(Directory.Exists(Path.Combine(junk, "cur")));
        Assert.True(Directory.Exists(Path.Combine(junk, "tmp")));
    }

    [Fact]
    public async Task UnwritableMaildirDefersWithTheSystemErrorAndPath()
    {
        // The domain directory is a file: every directory below it fails with ENOTDIR or EEXIST.
        Directory.CreateDirectory(_dir.Combine("mail"));
        File.WriteAllText(_dir.Combine("mail", "example.com"), "not a directory");
        IReadOnlyList<RecipientResult> results = await Agent().DeliverAsync(
            Request(new Mailbox("sender", "example.org"), false, "alice@example.com"), CancellationToken.None);

        RecipientResult r = Assert.Single(results);
        Assert.Equal(DeliveryOutcome.TemporaryFailure, r.Outcome);
        string maildir = _dir.Combine("mail", "example.com", "alice");
        Assert.StartsWith($"maildir delivery to {maildir} failed: ", r.ReplyText[r.ReplyText.IndexOf("maildir", StringComparison.Ordinal)..]);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(r.ReplyText, "Not a directory|File exists"), r.ReplyText);
        Assert.Contains(_dir.Combine("mail", "example.com"), r.ReplyText[(r.ReplyText.IndexOf("failed: ", StringComparison.Ordinal) + 8)..]);
        Assert.DoesNotContain("IOException", r.ReplyText);
    }

    [Fact]
    public async Task EmptyBodyStillGetsItsTraceHeaders()
    {
        DeliveryRequest r = Request(null, false, "alice@example.com");
        File.WriteAllBytes(r.BodyPath, []);
        r = r with { Envelope = r.Envelope with { Size = 0 } };
        Assert.Equal(DeliveryOutcome.Delivered, Assert.Single(await Agent().DeliverAsync(r, CancellationToken.None)).Outcome);
        Assert.Equal("Return-Path: <>\nDelivered-To: alice@example.com\n"u8.ToArray(), File.ReadAllBytes(Assert.Single(NewFiles("example.com", "alice"))));
    }

    [Fact]
    public async Task MaildirRemovedWhileRunningIsMadeAgain()
    {
        MaildirDeliveryAgent agent = Agent();
        await agent.DeliverAsync(Request(null, false, "alice@example.com"), CancellationToken.None);
        Directory.Delete(_dir.Combine("mail", "example.com", "alice"), recursive: true);
        DeliveryRequest second = Request(null, false, "alice@example.com") with
        {
            Envelope = Request(null, false, "alice@example.com").Envelope with { Id = new QueueId("0123456789ABCDEG") },
        };
        RecipientResult r = Assert.Single(await agent.DeliverAsync(second, CancellationToken.None));
        Assert.Equal(DeliveryOutcome.Delivered, r.Outcome);
        Assert.Single(NewFiles("example.com", "alice"));
    }

    [Fact]
    public async Task NullReversePathIsWrittenAsEmptyAngleBrackets()
    {
        await Agent().DeliverAsync(Request(null, false, "alice@example.com"), CancellationToken.None);
        byte[] expected = [.. "Return-Path: <>\nDelivered-To: alice@example.com\n"u8, .. Lf(Body)];
        Assert.Equal(expected, File.ReadAllBytes(Assert.Single(NewFiles("example.com", "alice"))));
    }

    [Fact]
    public async Task SaveCrlfKeepsTheLineEndsOfSmtp()
    {
        await Agent(saveCrlf: true).DeliverAsync(Request(null, false, "alice@example.com"), CancellationToken.None);
        byte[] expected = [.. "Return-Path: <>\r\nDelivered-To: alice@example.com\r\n"u8, .. Body];
        string file = Assert.Single(NewFiles("example.com", "alice"));
        Assert.Equal(expected, File.ReadAllBytes(file));
        Assert.EndsWith($",S={expected.Length},W={expected.Length}", file, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CrlfSplitAcrossCopyChunksBecomesLf()
    {
        // One byte, then lines of 126 bytes + CRLF (128 bytes, which divides 64 KiB), over a megabyte: every 64 KiB copy
        // chunk ends in the CR of a CRLF whose LF starts the next chunk. (Lines of 99 bytes + CRLF, as before, never
        // split a CRLF.)
        var text = new StringBuilder("x");
        for (int i = 0; text.Length < 1_100_000; i++) text.Append(new string((char)('a' + i % 26), 126)).Append("\r\n");
        text.Append("last line without a line end\r");
        byte[] body = Encoding.ASCII.GetBytes(text.ToString());
        string bodyPath = _dir.Combine("lines.eml");
        File.WriteAllBytes(bodyPath, body);
        var rcpt = new Recipient(new Mailbox("alice", "example.com"));
        var envelope = new Envelope(new QueueId("0123456789ABCDEF"), null, [rcpt], Received, Size: body.Length);
        await Agent().DeliverAsync(new DeliveryRequest(envelope, bodyPath, [rcpt], false), CancellationToken.None);
        byte[] expected = [.. "Return-Path: <>\nDelivered-To: alice@example.com\n"u8, .. Lf(body)];
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(Assert.Single(NewFiles("example.com", "alice")))));
    }

    [Fact]
    public async Task RecoveredRedeliveryDoesNotDuplicate()
    {
        MaildirDeliveryAgent agent = Agent();
        DeliveryRequest first = Request(new Mailbox("s", "example.org"), false, "alice@example.com");
        await agent.DeliverAsync(first, CancellationToken.None);
        string file = Assert.Single(NewFiles("example.com", "alice"));

        IReadOnlyList<RecipientResult> again = await agent.DeliverAsync(first with { IsRecovered = true }, CancellationToken.None);
        Assert.Equal(DeliveryOutcome.Delivered, Assert.Single(again).Outcome);
        Assert.Equal("250 2.0.0 already delivered to maildir", again[0].ReplyText);
        Assert.Equal(file, Assert.Single(NewFiles("example.com", "alice")));

        // A reader moved it to cur/ with flags: still recognised.
        string cur = _dir.Combine("mail", "example.com", "alice", "cur", Path.GetFileName(file) + ":2,S");
        File.Move(file, cur);
        await agent.DeliverAsync(first with { IsRecovered = true }, CancellationToken.None);
        Assert.Empty(NewFiles("example.com", "alice"));
        Assert.Single(Directory.GetFiles(_dir.Combine("mail", "example.com", "alice", "cur")));
    }

    [Fact]
    public async Task SameMailboxTwiceGetsOneCopyAndOthersTheirOwn()
    {
        IReadOnlyList<RecipientResult> results = await Agent().DeliverAsync(
            Request(new Mailbox("s", "example.org"), false, "alice@example.com", "ALICE@example.com", "bob@example.net"),
            CancellationToken.None);
        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.Equal(DeliveryOutcome.Delivered, r.Outcome));
        string alice = Assert.Single(NewFiles("example.com", "alice"));
        string bob = Assert.Single(NewFiles("example.net", "bob"));
        Assert.EndsWith("Delivered-To: bob@example.net\n" + Encoding.ASCII.GetString(Lf(Body)), File.ReadAllText(bob), StringComparison.Ordinal);
        Assert.StartsWith("Return-Path: <s@example.org>\nDelivered-To: alice@example.com\n", File.ReadAllText(alice), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargeBinaryMimeBodyIsCopiedExactly()
    {
        var big = new byte[1_000_003];
        new Random(42).NextBytes(big);
        string bodyPath = _dir.Combine("big.eml");
        File.WriteAllBytes(bodyPath, big);
        var rcpt = new Recipient(new Mailbox("alice", "example.com"));
        // RFC 3030: a BODY=BINARYMIME message is octets, not lines; it keeps every byte, CRs included.
        var envelope = new Envelope(new QueueId("0123456789ABCDEF"), null, [rcpt], Received, Body: BodyType.BinaryMime, Size: big.Length);
        await Agent().DeliverAsync(new DeliveryRequest(envelope, bodyPath, [rcpt], false), CancellationToken.None);
        byte[] copy = File.ReadAllBytes(Assert.Single(NewFiles("example.com", "alice")));
        byte[] head = "Return-Path: <>\r\nDelivered-To: alice@example.com\r\n"u8.ToArray();
        Assert.Equal(head.Length + big.Length, copy.Length);
        Assert.Equal(head, copy.AsSpan(0, head.Length).ToArray());
        Assert.True(copy.AsSpan(head.Length).SequenceEqual(big));
    }

    [Theory]
    [InlineData("..", "example.com")]
    [InlineData("a/b", "example.com")]
    [InlineData("alice", "..")]
    public async Task UnsafeMailboxNamesFailPermanently(string user, string domain)
    {
        var rcpt = new Recipient(new Mailbox(user, domain));
        string bodyPath = _dir.Combine("b.eml");
        File.WriteAllBytes(bodyPath, Body);
        var envelope = new Envelope(new QueueId("0123456789ABCDEF"), null, [rcpt], Received, Size: Body.Length);
        IReadOnlyList<RecipientResult> results = await Agent().DeliverAsync(new DeliveryRequest(envelope, bodyPath, [rcpt], false), CancellationToken.None);
        Assert.Equal(DeliveryOutcome.PermanentFailure, Assert.Single(results).Outcome);
        Assert.False(Directory.Exists(_dir.Combine("mail")) && Directory.EnumerateFiles(_dir.Combine("mail"), "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task MissingBodyIsATemporaryFailure()
    {
        DeliveryRequest request = Request(null, false, "alice@example.com");
        File.Delete(request.BodyPath);
        IReadOnlyList<RecipientResult> results = await Agent().DeliverAsync(request, CancellationToken.None);
        Assert.Equal(DeliveryOutcome.TemporaryFailure, Assert.Single(results).Outcome);
        Assert.Empty(NewFiles("example.com", "alice"));
        Assert.Empty(Directory.GetFiles(_dir.Combine("mail", "example.com", "alice", "tmp")));
    }

    [Fact]
    public async Task ConcurrentDeliveriesAllLandWithAtMostTwoSyncRoundsEach()
    {
        MaildirDeliveryAgent agent = Agent();
        string bodyPath = _dir.Combine("body.eml");
        File.WriteAllBytes(bodyPath, Body);
        Task[] tasks = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            var rcpt = new Recipient(new Mailbox("u" + (i % 10), "example.com"));
            var id = new QueueId(i.ToString("D16", System.Globalization.CultureInfo.InvariantCulture));
            var envelope = new Envelope(id, null, [rcpt], Received, Size: Body.Length);
            IReadOnlyList<RecipientResult> r = await agent.DeliverAsync(new DeliveryRequest(envelope, bodyPath, [rcpt], false), CancellationToken.None);
            Assert.Equal(DeliveryOutcome.Delivered, r[0].Outcome);
        })).ToArray();
        await Task.WhenAll(tasks);
        for (int u = 0; u < 10; u++) Assert.Equal(10, NewFiles("example.com", "u" + u).Length);
        // At most one round for the data and one for the renames per delivery; fewer when deliveries overlap.
        Assert.InRange(_dir.Barrier.Rounds, 2, 200);
    }
}
