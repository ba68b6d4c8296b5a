using System.Text;
using MimeKit;
using MimeKit.Utils;
using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Delivery.Dsn;

/// <summary>
/// Builds one delivery status notification (RFC 3464) about some recipients of a queued message: a
/// <c>multipart/report; report-type=delivery-status</c> (RFC 6522 §3) of a human-readable <c>text/plain</c> part, the
/// <c>message/delivery-status</c> part and the original, whole (<c>message/rfc822</c>) or its header section
/// (<c>text/rfc822-headers</c>). It decides nothing about whether a notice is wanted (<see cref="DsnNotifier"/> does).
/// </summary>
/// <remarks>
/// The original is returned whole only in a failure notice, when RET=HDRS was not given and it is at most
/// <see cref="DsnOptions.MaxReturnedMessageSize"/> bytes (RFC 3461 §4.3: "If a DSN contains no indications of delivery
/// failure, only the headers of the message SHOULD be returned"); without RET, Postbote returns the whole message, as
/// Postfix does. The original is read from the spool within the bounds of <see cref="DsnOptions"/>, never whole into
/// memory when it is larger.
/// </remarks>
public sealed class DsnBuilder
{
    private readonly DsnOptions _options;

    /// <summary>Creates the builder.</summary>
    /// <param name="options">The host name, the return limits and the message lifetime.</param>
    /// <exception cref="ArgumentException">The options are not valid (<see cref="DsnOptions.Validate"/>).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options are not valid.</exception>
    public DsnBuilder(DsnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    /// <summary>The <c>Subject</c> of a notice of the given kind.</summary>
    /// <param name="kind">The action of the recipients the notice is about.</param>
    /// <returns>"Undelivered Mail Returned to Sender", "Delayed Mail (still being retried)", "Successful Mail Delivery
    /// Report" or "Relayed Mail Delivery Report".</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is no defined action.</exception>
    public static string SubjectFor(DsnAction kind) => kind switch
    {
        DsnAction.Failed => "Undelivered Mail Returned to Sender",
        DsnAction.Delayed => "Delayed Mail (still being retried)",
        DsnAction.Delivered => "Successful Mail Delivery Report",
        DsnAction.Relayed => "Relayed Mail Delivery Report",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a DSN action."),
    };

    /// <summary>The kind of a notice about recipients with these actions: failed before delayed before delivered before
    /// relayed.</summary>
    /// <param name="recipients">The recipients, at least one.</param>
    /// <returns>The kind that decides the subject, the text and what is returned of the original.</returns>
    /// <exception cref="ArgumentException"><paramref name="recipients"/> is empty.</exception>
    public static DsnAction KindOf(IReadOnlyList<NoticeRecipient> recipients)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        if (recipients.Count == 0) throw new ArgumentException("A notice is about at least one recipient.", nameof(recipients));
        DsnAction kind = DsnAction.Relayed;
        foreach (NoticeRecipient r in recipients)
        {
            if (Rank(r.Action) < Rank(kind)) kind = r.Action;
        }
        return kind;
    }

    private static int Rank(DsnAction a) => a switch
    {
        DsnAction.Failed => 0,
        DsnAction.Delayed => 1,
        DsnAction.Delivered => 2,
        _ => 3,
    };

    /// <summary>Builds the notice.</summary>
    /// <param name="entry">The message as recorded in the spool: envelope, per-recipient state (last reply, remote host,
    /// last attempt time) and where its body is.</param>
    /// <param name="recipients">The recipients to report on, each an index into the envelope's recipients with its
    /// action; at least one.</param>
    /// <param name="at">When the notice is made (UTC): its <c>Date</c>.</param>
    /// <param name="noticeId">The queue ID the notice will have; it makes the <c>Message-ID</c>
    /// <c>&lt;ID@host&gt;</c>.</param>
    /// <returns>The notice, addressed to the original reverse-path.</returns>
    /// <exception cref="ArgumentException">The message has the null reverse-path (RFC 5321 §6.1: "if this address is the
    /// null ("&lt;&gt;") address, the receiver-SMTP MUST NOT send a notification"), <paramref name="recipients"/> is
    /// empty, or an index is outside the envelope's recipients.</exception>
    /// <exception cref="IOException">The original's body cannot be read from the spool.</exception>
    /// <exception cref="UnauthorizedAccessException">The original's body file cannot be read.</exception>
    public MimeMessage Build(SpoolEntry entry, IReadOnlyList<NoticeRecipient> recipients, DateTimeOffset at, QueueId noticeId)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Envelope envelope = entry.Envelope;
        if (envelope.ReversePath is not { } sender) throw new ArgumentException("No notice goes to the null reverse-path.", nameof(entry));
        DsnAction kind = KindOf(recipients);
        foreach (NoticeRecipient r in recipients)
        {
            if ((uint)r.Index >= (uint)envelope.Recipients.Count || r.Index >= entry.States.Count)
            {
                throw new ArgumentException($"Recipient index {r.Index} is outside the envelope.", nameof(recipients));
            }
        }

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", "MAILER-DAEMON@" + _options.HostName));
        message.To.Add(new MailboxAddress(string.Empty, sender.ToString()));
        message.Subject = SubjectFor(kind);
        message.Date = at;
        message.MessageId = noticeId.Value + "@" + _options.HostName;
        // RFC 3834 §5: "auto-replied" marks a message sent automatically in response to another one.
        message.Headers.Add("Auto-Submitted", "auto-replied");

        // RFC 6522 §3: the report's first part is human-readable, the second machine-readable; report-type is required.
        var report = new MultipartReport("delivery-status")
        {
            HumanText(entry, recipients, kind),
            StatusPart(entry, recipients),
        };
        // RFC 3461 §4.3: "FULL requests that the entire message be returned in any "failed" DSN issued for this recipient.
        // HDRS requests that only the headers of the message be returned."
        bool wantWhole = kind == DsnAction.Failed && envelope.Return != DsnReturn.Headers;
        ReturnedContent returned = ReturnedContent.Read(entry, wantWhole, _options.MaxReturnedMessageSize, _options.MaxReturnedHeaderSize);
        report.Add(ReturnedPart(returned));
        message.Body = report;
        return message;
    }

    /// <summary>Builds the notice and writes it as it goes into the spool: CRLF line ends.</summary>
    /// <param name="entry">The message as recorded in the spool.</param>
    /// <param name="recipients">The recipients to report on; at least one.</param>
    /// <param name="at">When the notice is made (UTC).</param>
    /// <param name="noticeId">The queue ID the notice will have.</param>
    /// <returns>The notice's bytes.</returns>
    /// <exception cref="ArgumentException">As <see cref="Build"/>.</exception>
    /// <exception cref="IOException">The original's body cannot be read from the spool.</exception>
    /// <exception cref="UnauthorizedAccessException">The original's body file cannot be read.</exception>
    public byte[] BuildBytes(SpoolEntry entry, IReadOnlyList<NoticeRecipient> recipients, DateTimeOffset at, QueueId noticeId)
    {
        MimeMessage message = Build(entry, recipients, at, noticeId);
        FormatOptions format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.International = entry.Envelope.SmtpUtf8;
        using var stream = new MemoryStream();
        message.WriteTo(format, stream);
        return stream.ToArray();
    }

    private TextPart HumanText(SpoolEntry entry, IReadOnlyList<NoticeRecipient> recipients, DsnAction kind)
    {
        var sb = new StringBuilder();
        sb.Append("This is the mail system at ").Append(_options.HostName).Append(".\n\n");
        switch (kind)
        {
            case DsnAction.Failed:
                sb.Append("Your message could not be delivered to the recipients below; the mail system has given up\n")
                  .Append("on them. Each line says why. Your message, or its header section, is attached.\n");
                break;
            case DsnAction.Delayed:
                sb.Append("Your message has not been delivered yet to the recipients below. The mail system keeps\n")
                  .Append("trying until ")
                  .Append(DateUtils.FormatDate(entry.Envelope.ReceivedAt + _options.MessageLifetime))
                  .Append("; you need not send it again.\n");
                break;
            case DsnAction.Delivered:
                sb.Append("Your message was delivered to the recipients below.\n");
                break;
            default:
                sb.Append("Your message was passed on to the servers of the recipients below, which send no delivery\n")
                  .Append("reports; this is the last report about it.\n");
                break;
        }
        sb.Append('\n');
        foreach (NoticeRecipient r in recipients)
        {
            RecipientQueueState state = entry.States[r.Index];
            sb.Append('<').Append(entry.Envelope.Recipients[r.Index].Address).Append(">: ");
            sb.Append(state.LastReply is { } reply ? DsnFields.Printable(reply) : DsnFields.Action(r.Action));
            if (state.RemoteHost is { } host) sb.Append(" (remote host ").Append(DsnFields.Printable(host)).Append(')');
            sb.Append('\n');
        }
        string text = sb.ToString();
        bool ascii = Ascii.IsValid(text);
        var part = new TextPart("plain");
        part.SetText(ascii ? Encoding.ASCII : Encoding.UTF8, text);
        part.ContentTransferEncoding = ascii ? ContentEncoding.SevenBit : ContentEncoding.QuotedPrintable;
        part.ContentDescription = "Notification";
        return part;
    }

    private MessageDeliveryStatus StatusPart(SpoolEntry entry, IReadOnlyList<NoticeRecipient> recipients)
    {
        Envelope envelope = entry.Envelope;
        var fields = new DeliveryStatusWriter();
        // RFC 3464 §2.1.2: per-message-fields = [ original-envelope-id-field CRLF ] reporting-mta-field CRLF
        // [ dsn-gateway-field CRLF ] [ received-from-mta-field CRLF ] [ arrival-date-field CRLF ] *( extension-field CRLF )
        fields.BeginGroup();
        // RFC 3461 §6.3 (a): with ENVID on the MAIL command "an Original-Envelope-ID field MUST be supplied".
        if (DsnFields.EnvelopeId(envelope.EnvelopeId) is { } envid) fields.Add("Original-Envelope-Id", envid);
        fields.Add("Reporting-MTA", "dns; " + _options.HostName);
        if (!string.IsNullOrEmpty(envelope.HeloName))
        {
            string from = DsnFields.Printable(envelope.HeloName);
            if (!string.IsNullOrEmpty(envelope.ClientAddress)) from += " [" + DsnFields.Printable(envelope.ClientAddress) + "]";
            fields.Add("Received-From-MTA", "dns; " + from);
        }
        fields.Add("Arrival-Date", DateUtils.FormatDate(envelope.ReceivedAt));

        foreach (NoticeRecipient r in recipients)
        {
            Recipient recipient = envelope.Recipients[r.Index];
            RecipientQueueState state = entry.States[r.Index];
            fields.BeginGroup();
            if (DsnFields.OriginalRecipient(recipient.OriginalRecipient) is { } orcpt) fields.Add("Original-Recipient", orcpt);
            // RFC 3464 §2.3.2: "The Final-Recipient field MUST be present in each set of per-recipient data."
            fields.Add("Final-Recipient", DsnFields.FinalRecipient(recipient.Address));
            fields.Add("Action", DsnFields.Action(r.Action));
            fields.Add("Status", DsnFields.Status(r.Action, state.LastReply).ToString());
            if (DsnFields.RemoteMta(state.RemoteHost) is { } mta) fields.Add("Remote-MTA", mta);
            if (DsnFields.DiagnosticCode(state.LastReply) is { } diagnostic) fields.Add("Diagnostic-Code", diagnostic);
            if (state.LastAttemptAt is { } last) fields.Add("Last-Attempt-Date", DateUtils.FormatDate(last));
            if (r.Action == DsnAction.Delayed)
            {
                fields.Add("Will-Retry-Until", DateUtils.FormatDate(envelope.ReceivedAt + _options.MessageLifetime));
            }
        }
        return new MessageDeliveryStatus
        {
            ContentDescription = "Delivery report",
            Content = new MimeContent(new MemoryStream(fields.ToBytes(), writable: false)),
        };
    }

    private static MimeEntity ReturnedPart(ReturnedContent returned)
    {
        if (returned.IsWhole)
        {
            return new MessagePart("rfc822")
            {
                Message = MimeMessage.Load(new MemoryStream(returned.Bytes, writable: false)),
            };
        }
        var headers = new TextRfc822Headers();
        byte[] section = [.. returned.Bytes, (byte)'\r', (byte)'\n'];
        headers.Message = MimeMessage.Load(new MemoryStream(section, writable: false));
        return headers;
    }
}
