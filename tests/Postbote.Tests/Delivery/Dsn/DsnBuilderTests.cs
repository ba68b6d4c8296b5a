using System.Text;
using MimeKit;
using Postbote.Core;
using Postbote.Delivery.Dsn;
using Postbote.Queue;
using static Postbote.Tests.Delivery.Dsn.DsnTestSpool;

namespace Postbote.Tests.Delivery.Dsn;

/// <summary>The notices of RFC 3464 as <see cref="DsnBuilder"/> writes them, parsed back with MimeKit field by
/// field.</summary>
public sealed class DsnBuilderTests : IDisposable
{
    private static readonly Mailbox Sender = new("sender", "example.org");
    private static readonly QueueId NoticeId = new("0000000000NOTICE");
    private readonly DsnTestSpool _spool = new();
    private readonly DsnBuilder _builder = new(new DsnOptions { HostName = "mx.postbote.test" });

    public void Dispose() => _spool.Dispose();

    private Task<SpoolEntry> OneRecipientAsync(RecipientQueueState state, DsnReturn ret = DsnReturn.Default, string? envid = null,
        string? orcpt = "rfc822;bob+2Bfilter@example.net", byte[]? body = null) =>
        _spool.CommitAsync(body ?? Original, Sender, [("bob@example.net", DsnNotify.Default, orcpt)], [state], ret, envid);

    private byte[] Build(SpoolEntry entry, params NoticeRecipient[] recipients) => _builder.BuildBytes(entry, recipients, Now, NoticeId);

    [Fact]
    public async Task FailureNoticeCarriesEveryFieldOfRfc3464()
    {
        SpoolEntry entry = await OneRecipientAsync(Failed("550 5.1.1 <bob@example.net>: Recipient address rejected"),
            envid: "QQ+2B314159");
        MimeMessage dsn = Parse(Build(entry, new NoticeRecipient(0, DsnAction.Failed)));

        Assert.Equal("\"Mail Delivery System\" <MAILER-DAEMON@mx.postbote.test>", dsn.From.ToString());
        Assert.Equal("sender@example.org", Assert.Single(dsn.To.Mailboxes).Address);
        Assert.Equal("Undelivered Mail Returned to Sender", dsn.Subject);
        Assert.Equal("auto-replied", dsn.Headers["Auto-Submitted"]);
        Assert.Equal("0000000000NOTICE@mx.postbote.test", dsn.MessageId);
        Assert.Equal(Now, dsn.Date);

        var report = Assert.IsType<MultipartReport>(dsn.Body);
        Assert.Equal("multipart/report", report.ContentType.MimeType);
        Assert.Equal("delivery-status", report.ContentType.Parameters["report-type"]);
        Assert.Equal(3, report.Count);
        var text = Assert.IsType<TextPart>(report[0]);
        Assert.Equal("text/plain", text.ContentType.MimeType);
        Assert.Contains("<bob@example.net>: 550 5.1.1 <bob@example.net>: Recipient address rejected (remote host mx1.example.net[192.0.2.25]:25)",
            text.Text, StringComparison.Ordinal);

        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal(2, status.StatusGroups.Count);
        HeaderList perMessage = status.StatusGroups[0];
        Assert.Equal(["Original-Envelope-Id", "Reporting-MTA", "Received-From-MTA", "Arrival-Date"], perMessage.Select(h => h.Field));
        Assert.Equal("QQ+314159", Field(perMessage, "Original-Envelope-Id"));
        Assert.Equal("dns; mx.postbote.test", Field(perMessage, "Reporting-MTA"));
        Assert.Equal("dns; client.example.org [192.0.2.7]", Field(perMessage, "Received-From-MTA"));
        Assert.Equal("Tue, 04 Mar 2025 05:06:07 +0000", Field(perMessage, "Arrival-Date"));

        HeaderList recipient = status.StatusGroups[1];
        Assert.Equal(["Original-Recipient", "Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code", "Last-Attempt-Date"],
            recipient.Select(h => h.Field));
        Assert.Equal("rfc822; bob+filter@example.net", Field(recipient, "Original-Recipient"));
        Assert.Equal("rfc822; bob@example.net", Field(recipient, "Final-Recipient"));
        Assert.Equal("failed", Field(recipient, "Action"));
        Assert.Equal("5.1.1", Field(recipient, "Status"));
        Assert.Equal("dns; mx1.example.net", Field(recipient, "Remote-MTA"));
        Assert.Equal("smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected", Field(recipient, "Diagnostic-Code"));
        Assert.Equal("Tue, 04 Mar 2025 09:10:11 +0000", Field(recipient, "Last-Attempt-Date"));

        var returned = Assert.IsType<MessagePart>(report[2]);
        Assert.Equal("message/rfc822", returned.ContentType.MimeType);
        Assert.Equal("Quarterly figures", returned.Message!.Subject);
    }

    [Fact]
    public async Task FailureNoticeReturnsTheOriginalByteForByte()
    {
        SpoolEntry entry = await OneRecipientAsync(Failed("550 5.1.1 no such user"), ret: DsnReturn.Full);
        byte[] bytes = Build(entry, new NoticeRecipient(0, DsnAction.Failed));
        var report = Report(bytes);
        // The returned part's body in the notice's own bytes: the original exactly, then the CRLF of the closing boundary.
        byte[] tail = [.. Original, .. Encoding.ASCII.GetBytes("\r\n--" + report.Boundary + "--")];
        Assert.True(bytes.AsSpan().IndexOf(tail) > 0, "the original is not in the notice unchanged:\n" + Encoding.UTF8.GetString(bytes));
        using var copy = new MemoryStream();
        FormatOptions crlf = FormatOptions.Default.Clone();
        crlf.NewLineFormat = NewLineFormat.Dos;
        ((MessagePart)report[2]).Message!.WriteTo(crlf, copy);
        Assert.Equal(Original, copy.ToArray());
    }

    [Fact]
    public async Task RetHdrsReturnsTheHeaderSectionOnly()
    {
        SpoolEntry entry = await OneRecipientAsync(Failed("550 5.1.1 no such user"), ret: DsnReturn.Headers);
        byte[] bytes = Build(entry, new NoticeRecipient(0, DsnAction.Failed));
        var report = Report(bytes);
        var headers = Assert.IsType<TextRfc822Headers>(report[2]);
        Assert.Equal("text/rfc822-headers", headers.ContentType.MimeType);
        Assert.Equal("Quarterly figures", headers.Message!.Subject);
        // The header section exactly; the CRLF before the closing boundary belongs to the boundary (RFC 2046 §5.1.1).
        byte[] tail = [.. OriginalHeaders, .. Encoding.ASCII.GetBytes("\r\n--" + report.Boundary + "--")];
        Assert.True(bytes.AsSpan().IndexOf(tail) > 0, "the header section is not returned unchanged:\n" + Encoding.UTF8.GetString(bytes));
        Assert.False(bytes.AsSpan().IndexOf("the figures."u8) >= 0, "the body must not be returned with RET=HDRS");
    }

    [Fact]
    public async Task AnOriginalOverTheLimitIsReturnedAsHeadersOnly()
    {
        byte[] large = [.. Original, .. Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 2000)))];
        SpoolEntry entry = await OneRecipientAsync(Failed("550 5.1.1 no such user"), ret: DsnReturn.Full, body: large);
        Assert.True(entry.Envelope.Size > new DsnOptions().MaxReturnedMessageSize);
        byte[] bytes = Build(entry, new NoticeRecipient(0, DsnAction.Failed));
        var report = Report(bytes);
        Assert.IsType<TextRfc822Headers>(report[2]);
        Assert.True(bytes.Length < 8 * 1024, $"the notice is {bytes.Length} bytes");
    }

    [Fact]
    public async Task DelayNoticeSaysUntilWhenAndReturnsHeadersEvenWithRetFull()
    {
        var state = new RecipientQueueState(4, DsnTestSpool.Now.AddHours(1), "451 4.2.2 mailbox over quota")
        {
            RemoteHost = "mx1.example.net[192.0.2.25]:25",
            LastAttemptAt = LastAttempt,
        };
        SpoolEntry entry = await OneRecipientAsync(state, ret: DsnReturn.Full, orcpt: null);
        MimeMessage dsn = Parse(Build(entry, new NoticeRecipient(0, DsnAction.Delayed)));
        Assert.Equal("Delayed Mail (still being retried)", dsn.Subject);
        var report = Report(dsn);
        HeaderList recipient = ((MessageDeliveryStatus)report[1]).StatusGroups[1];
        Assert.Null(Field(recipient, "Original-Recipient"));
        Assert.Equal("delayed", Field(recipient, "Action"));
        Assert.Equal("4.2.2", Field(recipient, "Status"));
        Assert.Equal("Sun, 09 Mar 2025 05:06:07 +0000", Field(recipient, "Will-Retry-Until"));
        Assert.Null(Field(((MessageDeliveryStatus)report[1]).StatusGroups[0], "Original-Envelope-Id"));
        Assert.IsType<TextRfc822Headers>(report[2]);
    }

    [Theory]
    [InlineData("451 4.4.1 connection timed out", "4.4.1")]   // the lifetime ran out after a 4yz: class 4 kept (RFC 3463 §3.1)
    [InlineData("421 service not available", "4.4.7")]        // no enhanced code: X.4.7 delivery time expired
    [InlineData("554 transaction failed", "5.0.0")]           // no enhanced code, permanent
    [InlineData("550 2.1.5 mismatched class", "5.0.0")]       // a code of another class is not the reply's
    [InlineData("552-5.2.2 mailbox full 552 5.2.2 try later", "5.2.2")]
    public async Task FailureStatusFollowsTheLastReply(string reply, string expected)
    {
        SpoolEntry entry = await OneRecipientAsync(Failed(reply));
        MimeMessage dsn = Parse(Build(entry, new NoticeRecipient(0, DsnAction.Failed)));
        HeaderList recipient = ((MessageDeliveryStatus)Report(dsn)[1]).StatusGroups[1];
        Assert.Equal(expected, Field(recipient, "Status"));
        Assert.Equal("smtp; " + reply, Field(recipient, "Diagnostic-Code"));
    }

    [Fact]
    public async Task SuccessNoticeOfALocalDeliveryHasNoRemoteMta()
    {
        var state = new RecipientQueueState(1, null, "250 2.0.0 delivered") { LastAttemptAt = LastAttempt };
        SpoolEntry entry = await OneRecipientAsync(state);
        MimeMessage dsn = Parse(Build(entry, new NoticeRecipient(0, DsnAction.Delivered)));
        Assert.Equal("Successful Mail Delivery Report", dsn.Subject);
        HeaderList recipient = ((MessageDeliveryStatus)Report(dsn)[1]).StatusGroups[1];
        Assert.Equal("delivered", Field(recipient, "Action"));
        Assert.Equal("2.0.0", Field(recipient, "Status"));
        Assert.Null(Field(recipient, "Remote-MTA"));
        Assert.IsType<TextRfc822Headers>(Report(dsn)[2]);
    }

    [Fact]
    public async Task OneNoticeReportsEachOfItsRecipientsInOrder()
    {
        SpoolEntry entry = await _spool.CommitAsync(Original, Sender,
            [("bob@example.net", DsnNotify.Default, null), ("carol@example.net", DsnNotify.Default, "rfc822;carol@example.net"), ("dave@example.net", DsnNotify.Default, null)],
            [Failed("550 5.1.1 no bob"), new RecipientQueueState(1, null, "250 2.0.0 ok"), Failed("550 5.7.1 no dave", host: null)]);
        MimeMessage dsn = Parse(Build(entry, new NoticeRecipient(2, DsnAction.Failed), new NoticeRecipient(0, DsnAction.Failed)));
        var groups = ((MessageDeliveryStatus)Report(dsn)[1]).StatusGroups;
        Assert.Equal(3, groups.Count);
        Assert.Equal("rfc822; dave@example.net", Field(groups[1], "Final-Recipient"));
        Assert.Equal("5.7.1", Field(groups[1], "Status"));
        Assert.Null(Field(groups[1], "Remote-MTA"));
        Assert.Equal("rfc822; bob@example.net", Field(groups[2], "Final-Recipient"));
    }

    [Fact]
    public async Task NoNoticeIsBuiltForTheNullReversePath()
    {
        SpoolEntry entry = await _spool.CommitAsync(Original, null, [("bob@example.net", DsnNotify.Failure, null)], [Failed("550 5.1.1 no")]);
        Assert.Throws<ArgumentException>(() => Build(entry, new NoticeRecipient(0, DsnAction.Failed)));
    }

    [Fact]
    public async Task AnIndexOutsideTheEnvelopeIsRefused()
    {
        SpoolEntry entry = await OneRecipientAsync(Failed("550 5.1.1 no"));
        Assert.Throws<ArgumentException>(() => Build(entry, new NoticeRecipient(1, DsnAction.Failed)));
        Assert.Throws<ArgumentException>(() => Build(entry));
    }
}
