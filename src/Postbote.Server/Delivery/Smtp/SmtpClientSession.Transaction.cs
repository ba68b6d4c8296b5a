using System.Buffers;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Postbote.Core;
using Postbote.Protocol.Smtp;
using Postbote.Protocol.Smtp.Client;
using Postbote.Queue;

namespace Postbote.Delivery.Smtp;

public sealed partial class SmtpClientSession
{
    private const int BodyChunkSize = 64 * 1024;

    /// <summary>
    /// Carries one message to the server: MAIL, one RCPT per recipient, then DATA (or BDAT when the server offers
    /// CHUNKING, RFC 3030), and reports one result per recipient.
    /// </summary>
    /// <param name="request">The message; its <see cref="DeliveryRequest.Recipients"/> are the recipients for this
    /// server. The body is streamed from <see cref="DeliveryRequest.OpenBody"/> at <see cref="DeliveryRequest.BodyOffset"/>.</param>
    /// <param name="cancellationToken">Ends the attempt (shutdown); the session is then unusable.</param>
    /// <returns>One result per recipient, in order, each with <see cref="RecipientResult.RemoteHost"/>: the RCPT reply
    /// for a refused recipient; for an accepted one the reply to the end of the data (in LMTP its own reply, RFC 2033
    /// §4.2); the MAIL reply for all when MAIL was refused. A lost connection or a timeout makes every recipient not yet
    /// decided a temporary failure (4.4.2) and the session unusable.</returns>
    /// <exception cref="InvalidOperationException">The session is no longer usable.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <remarks>
    /// Decided before anything is sent: a message that needs SMTPUTF8 to a server without it fails with 5.6.7; an 8-bit
    /// message to a server without 8BITMIME is converted to 7-bit MIME, or fails with 5.6.3 when it cannot be; a
    /// message larger than the server's SIZE fails with 5.3.4. With PIPELINING (RFC 2920) MAIL, the RCPTs and DATA go
    /// in one write and the replies are read in order; without it, one command at a time.
    /// </remarks>
    public async Task<IReadOnlyList<RecipientResult>> SendAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsUsable) throw new InvalidOperationException($"the session with {RemoteHost} is no longer usable");
        int count = request.Recipients.Count;
        var results = new RecipientResult?[count];
        if (count == 0) return [];
        Envelope envelope = request.Envelope;
        EhloCapabilities caps = Capabilities;

        // RFC 6531 §3.2: "An SMTPUTF8-aware SMTP client MUST NOT send an internationalized message to an SMTP server
        // that does not support SMTPUTF8."
        if (!caps.Offers(SmtpExtensions.SmtpUtf8) && NeedsSmtpUtf8(request))
        {
            return Fill(results, Permanent(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.NonAsciiNotPermitted,
                $"the message needs SMTPUTF8, which {RemoteHost} does not offer"));
        }

        BodyType body = envelope.Body;
        FileStream? converted = null;
        try
        {
            // RFC 6152 §3: a client that must relay 8-bit data to a server without 8BITMIME converts it to 7-bit MIME
            // or returns it as undeliverable; BINARYMIME needs CHUNKING and BINARYMIME (RFC 3030 §3).
            bool sevenBitOnly = body == BodyType.EightBitMime && !caps.Offers(SmtpExtensions.EightBitMime)
                || body == BodyType.BinaryMime && !caps.Offers(SmtpExtensions.Chunking | SmtpExtensions.BinaryMime);
            if (sevenBitOnly)
            {
                converted = SevenBitConverter.TryConvert(request, out string? reason);
                if (converted is null)
                {
                    return Fill(results, Permanent(SmtpReplyCode.TransactionFailed, new EnhancedStatusCode(5, 6, 3),
                        $"{RemoteHost} does not offer {(body == BodyType.BinaryMime ? "BINARYMIME" : "8BITMIME")} and the message cannot be converted to 7-bit MIME: {reason}"));
                }
                body = BodyType.SevenBit;
            }
            long size = converted?.Length ?? envelope.MessageSize;
            // RFC 1870 §6: a client that knows the server's SIZE limit does not send a message larger than it; the
            // failure is permanent for that server (5.3.4, RFC 3463 §3.4).
            if (caps.SizeLimit is long limit && size > limit)
            {
                return Fill(results, Permanent(SmtpReplyCode.ExceededStorage, EnhancedStatusCode.MessageTooBig,
                    $"message size {size} bytes exceeds the limit of {limit} bytes of {RemoteHost}"));
            }

            using var _ = Watch(cancellationToken);
            try
            {
                Transactions++;
                await TransactAsync(request, results, body, size, converted, cancellationToken).ConfigureAwait(false);
            }
            catch (SmtpClientException e)
            {
                _broken = true;
                Fill(results, FromReply(e.Reply));
            }
            return results!;
        }
        finally
        {
            if (converted is not null) await converted.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task TransactAsync(DeliveryRequest request, RecipientResult?[] results, BodyType body, long size,
        FileStream? converted, CancellationToken cancellationToken)
    {
        Envelope envelope = request.Envelope;
        EhloCapabilities caps = Capabilities;
        bool dsn = caps.Offers(SmtpExtensions.Dsn);
        bool bdat = caps.Offers(SmtpExtensions.Chunking);
        bool pipelining = caps.Offers(SmtpExtensions.Pipelining);
        var mail = new MailCommandParameters
        {
            Size = caps.Offers(SmtpExtensions.Size) ? size : null,
            Body = body,
            SmtpUtf8 = envelope.SmtpUtf8 && caps.Offers(SmtpExtensions.SmtpUtf8),
            Return = dsn ? envelope.Return : DsnReturn.Default,
            EnvelopeId = dsn && envelope.EnvelopeId is { } envid && XText.TryDecode(envid, out string? text) ? text : null,
        };
        try
        {
            SmtpCommandWriter.WriteMail(_out, envelope.ReversePath, mail);
        }
        catch (ArgumentException e)
        {
            Fill(results, Permanent(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.BadSenderSyntax, $"the sender cannot be sent: {e.Message}"));
            return;
        }

        int count = request.Recipients.Count;
        var sent = new List<int>(count);
        var accepted = new List<int>(count);
        SmtpReply mailReply;
        SmtpReply? dataReply = null;
        if (pipelining)
        {
            // RFC 2920 §3.1: "The actual transfer of message content is explicitly allowed to be the first "command"
            // in a group"; MAIL, the RCPTs and DATA are sent together and their replies read in order.
            for (int i = 0; i < count; i++)
            {
                if (WriteRcpt(request.Recipients[i], dsn, results, i)) sent.Add(i);
            }
            bool dataSent = !bdat && sent.Count > 0;
            if (dataSent) SmtpCommandWriter.WriteData(_out);
            await FlushAsync(_timeouts.Mail, "MAIL", cancellationToken).ConfigureAwait(false);
            mailReply = await ReadReplyAsync(_timeouts.Mail, "MAIL", cancellationToken).ConfigureAwait(false);
            if (Closing(mailReply, results)) return;
            foreach (int i in sent)
            {
                SmtpReply reply = await ReadReplyAsync(_timeouts.Rcpt, "RCPT", cancellationToken).ConfigureAwait(false);
                if (Closing(reply, results)) return;
                if (mailReply.IsPositive && reply.IsPositive) accepted.Add(i);
                else if (mailReply.IsPositive) results[i] = FromReply(reply);
            }
            if (dataSent) dataReply = await ReadReplyAsync(_timeouts.DataInitiation, "DATA", cancellationToken).ConfigureAwait(false);
            if (dataReply is not null && Closing(dataReply, results)) return;
        }
        else
        {
            await FlushAsync(_timeouts.Mail, "MAIL", cancellationToken).ConfigureAwait(false);
            mailReply = await ReadReplyAsync(_timeouts.Mail, "MAIL", cancellationToken).ConfigureAwait(false);
            if (Closing(mailReply, results)) return;
            if (mailReply.IsPositive)
            {
                for (int i = 0; i < count; i++)
                {
                    if (!WriteRcpt(request.Recipients[i], dsn, results, i)) continue;
                    await FlushAsync(_timeouts.Rcpt, "RCPT", cancellationToken).ConfigureAwait(false);
                    SmtpReply reply = await ReadReplyAsync(_timeouts.Rcpt, "RCPT", cancellationToken).ConfigureAwait(false);
                    if (Closing(reply, results)) return;
                    if (reply.IsPositive) accepted.Add(i);
                    else results[i] = FromReply(reply);
                }
                if (!bdat && accepted.Count > 0)
                {
                    SmtpCommandWriter.WriteData(_out);
                    await FlushAsync(_timeouts.DataInitiation, "DATA", cancellationToken).ConfigureAwait(false);
                    dataReply = await ReadReplyAsync(_timeouts.DataInitiation, "DATA", cancellationToken).ConfigureAwait(false);
                    if (Closing(dataReply, results)) return;
                }
            }
        }

        if (!mailReply.IsPositive || accepted.Count == 0)
        {
            if (!mailReply.IsPositive) Fill(results, FromReply(mailReply));
            else Fill(results, FromReply(new SmtpReply(SmtpReplyCode.LocalError, EnhancedStatusCode.TemporarySystemError, $"{RemoteHost} gave no answer for this recipient")));
            if (dataReply is { IsIntermediate: true })
            {
                // RFC 2920 §3.1 wants DATA refused when no recipient was accepted; a server that says 354 anyway gets
                // an empty message, which it cannot deliver to anyone.
                _out.Write(".\r\n"u8);
                await FlushAsync(_timeouts.DataBlock, "DATA", cancellationToken).ConfigureAwait(false);
                await ReadReplyAsync(_timeouts.DataTermination, "end of data", cancellationToken).ConfigureAwait(false);
            }
            return;
        }

        if (bdat)
        {
            SmtpCommandWriter.WriteBdat(_out, size, last: true);
            await SendBodyAsync(request, converted, size, encode: false, cancellationToken).ConfigureAwait(false);
        }
        else if (dataReply is not { IsIntermediate: true })
        {
            SmtpReply refused = dataReply ?? new SmtpReply(SmtpReplyCode.LocalError, EnhancedStatusCode.TemporarySystemError, "no reply to DATA");
            foreach (int i in accepted) results[i] = FromReply(refused);
            return;
        }
        else
        {
            await SendBodyAsync(request, converted, size, encode: true, cancellationToken).ConfigureAwait(false);
        }

        string end = bdat ? "BDAT LAST" : "end of data";
        if (Protocol == SmtpClientProtocol.Lmtp)
        {
            // RFC 2033 §4.2: "after the final ".", the server returns one reply for each previously successful RCPT
            // command in the mail transaction, in the order that the RCPT commands were issued."
            foreach (int i in accepted)
            {
                results[i] = FromReply(await ReadReplyAsync(_timeouts.DataTermination, end, cancellationToken).ConfigureAwait(false));
            }
        }
        else
        {
            RecipientResult result = FromReply(await ReadReplyAsync(_timeouts.DataTermination, end, cancellationToken).ConfigureAwait(false));
            foreach (int i in accepted) results[i] = result;
        }
    }

    /// <summary>A 421 (RFC 5321 §3.8: the server closes the channel) ends the transaction: every recipient not yet
    /// decided gets that reply, and no further reply is waited for.</summary>
    private bool Closing(SmtpReply reply, RecipientResult?[] results)
    {
        if (reply.Code != SmtpReplyCode.ServiceNotAvailable) return false;
        _broken = true;
        Fill(results, FromReply(reply));
        return true;
    }

    private bool WriteRcpt(Recipient recipient, bool dsn, RecipientResult?[] results, int index)
    {
        var parameters = new RcptCommandParameters();
        if (dsn)
        {
            parameters = parameters with { Notify = recipient.Notify };
            if (recipient.OriginalRecipient is { } orcpt && orcpt.IndexOf(';') is int semi and > 0
                && XText.TryDecode(orcpt[(semi + 1)..], out string? original))
            {
                parameters = parameters with { OriginalRecipientType = orcpt[..semi], OriginalRecipient = original };
            }
        }
        try
        {
            SmtpCommandWriter.WriteRcpt(_out, recipient.Address, parameters);
            return true;
        }
        catch (ArgumentException)
        {
            try
            {
                // A stored ORCPT the writer refuses is dropped rather than the recipient.
                SmtpCommandWriter.WriteRcpt(_out, recipient.Address, parameters with { OriginalRecipient = null, OriginalRecipientType = null });
                return true;
            }
            catch (ArgumentException e)
            {
                results[index] = Permanent(SmtpReplyCode.MailboxNameNotAllowed, EnhancedStatusCode.BadDestinationSyntax, $"the recipient cannot be sent: {e.Message}");
                return false;
            }
        }
    }

    /// <summary>Streams the body: through <see cref="DataEncoder"/> for DATA (dot-stuffing, <c>.CRLF</c> at the end), or
    /// unchanged after the BDAT line; one write per 64 KiB, each within the data block timeout.</summary>
    private async Task SendBodyAsync(DeliveryRequest request, FileStream? converted, long size, bool encode, CancellationToken cancellationToken)
    {
        SafeFileHandle? owned = null;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(BodyChunkSize);
        try
        {
            SafeFileHandle handle;
            long offset;
            try
            {
                handle = converted?.SafeFileHandle ?? (owned = request.OpenBody());
                offset = converted is null ? request.BodyOffset : 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _broken = true;
                throw new SmtpClientException(EnhancedStatusCode.TemporarySystemError, $"cannot read the queued message: {e.Message}", e);
            }
            var encoder = new DataEncoder();
            long done = 0;
            if (converted is null)
            {
                // The header fields added at the end of data come first (a converted copy already holds them).
                byte[] added = request.GetAddedHeaderBytes();
                if (encode) encoder.Encode(added, _out);
                else _out.Write(added);
                done = added.Length;
            }
            long stored = done;
            while (done < size)
            {
                int want = (int)Math.Min(buffer.Length, size - done);
                int n;
                try
                {
                    n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, want), offset + done - stored, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _broken = true;
                    throw new SmtpClientException(EnhancedStatusCode.TemporarySystemError, $"cannot read the queued message: {e.Message}", e);
                }
                if (n == 0)
                {
                    // The server would take a shorter message as complete (BDAT) or wait: the connection is dropped.
                    _broken = true;
                    throw new SmtpClientException(EnhancedStatusCode.TemporarySystemError, $"the queued message ends after {done} of {size} bytes");
                }
                if (encode) encoder.Encode(buffer.AsSpan(0, n), _out);
                else _out.Write(buffer.AsSpan(0, n));
                done += n;
                if (_out.WrittenCount >= FlushThreshold) await FlushAsync(_timeouts.DataBlock, "data", cancellationToken).ConfigureAwait(false);
            }
            if (encode) encoder.Complete(_out);
            await FlushAsync(_timeouts.DataBlock, "data", cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            owned?.Dispose();
        }
    }

    /// <summary>Whether the message needs SMTPUTF8 (RFC 6531 §3.4): the client declared it and a mailbox of this
    /// transaction or a header field holds non-ASCII.</summary>
    private static bool NeedsSmtpUtf8(DeliveryRequest request)
    {
        Envelope envelope = request.Envelope;
        if (!envelope.SmtpUtf8) return false;
        if (envelope.ReversePath is { } from && !Ascii.IsValid(from.ToString())) return true;
        foreach (Recipient r in request.Recipients)
        {
            if (!Ascii.IsValid(r.Address.ToString())) return true;
        }
        return HeaderScan.HasEightBitHeader(request);
    }

    private RecipientResult FromReply(SmtpReply reply)
    {
        if (reply.Status is null) reply = reply with { Status = DefaultStatus(reply) };
        DeliveryOutcome outcome = reply.IsPositive ? DeliveryOutcome.Delivered
            : reply.IsPermanentFailure ? DeliveryOutcome.PermanentFailure
            : DeliveryOutcome.TemporaryFailure;
        DeliveryHandover handover = Protocol == SmtpClientProtocol.Lmtp ? DeliveryHandover.Final
            : Capabilities.Offers(SmtpExtensions.Dsn) ? DeliveryHandover.RelayedWithDsn
            : DeliveryHandover.Relayed;
        return new RecipientResult(outcome, reply) { RemoteHost = RemoteHost, Handover = handover };
    }

    private RecipientResult Permanent(SmtpReplyCode code, EnhancedStatusCode status, string text) =>
        new(DeliveryOutcome.PermanentFailure, new SmtpReply(code, status, text)) { RemoteHost = RemoteHost };

    /// <summary>Sets every result not yet decided to <paramref name="result"/>.</summary>
    private static RecipientResult[] Fill(RecipientResult?[] results, RecipientResult result)
    {
        for (int i = 0; i < results.Length; i++) results[i] ??= result;
        return results!;
    }
}
