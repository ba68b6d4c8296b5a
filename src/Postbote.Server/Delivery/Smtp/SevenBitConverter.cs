using MimeKit;
using MimeKit.Cryptography;
using Postbote.Queue;

namespace Postbote.Delivery.Smtp;

/// <summary>
/// Converts an 8-bit or binary message to 7-bit MIME for a server without 8BITMIME (RFC 6152 §3) or BINARYMIME
/// (RFC 3030 §3), with MimeKit: every leaf part whose content is not 7-bit is encoded, quoted-printable for text/*
/// and base64 for the rest (RFC 2045 §6), multiparts and message parts that declared 8bit or binary are relabelled
/// 7bit. Headers and 7-bit parts keep their bytes.
/// </summary>
/// <remarks>
/// Not converted (the message then fails with 5.6.3, RFC 3463 §3.7 "Conversion required but not supported"): an 8-bit
/// octet in a header field (it would need RFC 2047 encoding of fields that may be signed, or SMTPUTF8), and 8-bit
/// content inside a signed or encrypted part (RFC 1847 §2.1: conversion would break the signature). The converted
/// message is written to an unnamed temporary file that is deleted when closed, so no body is held in memory.
/// </remarks>
internal static class SevenBitConverter
{
    /// <summary>Converts the body of <paramref name="request"/>.</summary>
    /// <param name="request">The message.</param>
    /// <param name="reason">Why it cannot be converted, when the result is <c>null</c>.</param>
    /// <returns>A temporary file (deleted on close) holding the converted message, or <c>null</c>.</returns>
    public static FileStream? TryConvert(DeliveryRequest request, out string? reason)
    {
        reason = null;
        FileStream? output = null;
        try
        {
            using var body = new BufferedStream(request.OpenMessage(), 64 * 1024);
            MimeMessage message = MimeMessage.Load(body);
            reason = EightBitHeader(message.Headers) ?? (message.Body is { } root ? Convert(root, signed: false) : null);
            if (reason is not null) return null;
            message.MimeVersion ??= new Version(1, 0);
            output = new FileStream(Path.Combine(Path.GetTempPath(), "postbote-7bit-" + Guid.NewGuid().ToString("N")), FileMode.CreateNew,
                FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.DeleteOnClose);
            message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, output);
            output.Flush();
            FileStream done = output;
            output = null;
            return done;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ParseException)
        {
            reason = e.Message;
            return null;
        }
        finally
        {
            output?.Dispose();
        }
    }

    /// <summary>Converts <paramref name="entity"/> and what it contains; returns why it cannot be, or <c>null</c>.</summary>
    private static string? Convert(MimeEntity entity, bool signed)
    {
        if (EightBitHeader(entity.Headers) is { } header) return header;
        switch (entity)
        {
            case Multipart multipart:
                Relabel(multipart);
                bool inner = signed || multipart is MultipartSigned or MultipartEncrypted;
                foreach (MimeEntity child in multipart)
                {
                    if (Convert(child, inner) is { } reason) return reason;
                }
                return null;
            case MessagePart messagePart:
                Relabel(messagePart);
                if (messagePart.Message is not { } embedded) return null;
                return EightBitHeader(embedded.Headers) ?? (embedded.Body is { } body ? Convert(body, signed) : null);
            case MimePart part:
                if (part.ContentTransferEncoding is ContentEncoding.SevenBit or ContentEncoding.QuotedPrintable or ContentEncoding.Base64 or ContentEncoding.UUEncode)
                    return null;
                ContentEncoding best = part.GetBestEncoding(EncodingConstraint.SevenBit);
                if (best == ContentEncoding.SevenBit)
                {
                    if (part.ContentTransferEncoding != ContentEncoding.Default) part.ContentTransferEncoding = ContentEncoding.SevenBit;
                    return null;
                }
                if (signed) return "8-bit content inside a signed or encrypted part";
                // Text stays readable in quoted-printable (as Postfix converts); other content goes base64.
                part.ContentTransferEncoding = part.ContentType.MediaType.Equals("text", StringComparison.OrdinalIgnoreCase)
                    ? ContentEncoding.QuotedPrintable
                    : ContentEncoding.Base64;
                return null;
            default:
                return null;
        }
    }

    /// <summary>A multipart or message part may only be labelled 7bit, 8bit or binary (RFC 2045 §6.4); once its
    /// contents are 7-bit it says so.</summary>
    private static void Relabel(MimeEntity entity)
    {
        if (entity.Headers[HeaderId.ContentTransferEncoding] is { } cte && !cte.Trim().Equals("7bit", StringComparison.OrdinalIgnoreCase))
            entity.Headers[HeaderId.ContentTransferEncoding] = "7bit";
    }

    private static string? EightBitHeader(HeaderList headers)
    {
        foreach (Header h in headers)
        {
            foreach (byte b in h.RawValue)
            {
                if (b >= 0x80) return $"the header field {h.Field} holds 8-bit octets";
            }
        }
        return null;
    }
}
