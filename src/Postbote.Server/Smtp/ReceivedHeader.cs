using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Text;
using Postbote.Core;
using Postbote.Protocol.Smtp;

namespace Postbote.Smtp;

/// <summary>
/// The trace header of RFC 5321 §4.4 that the server puts first in every message it accepts ("When the SMTP server
/// receives a message for delivery or further processing, it MUST insert trace ("time stamp" or "Received")
/// information at the beginning of the message content"), with the protocol name of RFC 3848 / RFC 6531 §3.7.3.
/// </summary>
internal static class ReceivedHeader
{
    /// <summary>Formats the header, folded, with CRLF line ends.</summary>
    /// <param name="client">The client's address, written as an address literal.</param>
    /// <param name="helo">The HELO/EHLO argument; written only when it is a domain or address literal, else <c>unknown</c>.</param>
    /// <param name="esmtp">Whether the client greeted with EHLO.</param>
    /// <param name="smtpUtf8">Whether MAIL carried SMTPUTF8.</param>
    /// <param name="tls">The TLS layer, or <c>null</c> in clear.</param>
    /// <param name="authenticated">Whether the client authenticated.</param>
    /// <param name="hostName">The server's host name.</param>
    /// <param name="id">The message's queue ID.</param>
    /// <param name="recipients">The recipients; a single one is named in <c>for</c>.</param>
    /// <param name="now">The time of receipt (written in UTC).</param>
    /// <returns>The header, ending in CRLF.</returns>
    public static string Format(IPAddress client, string? helo, bool esmtp, bool smtpUtf8, SslStream? tls, bool authenticated,
        string hostName, QueueId id, IReadOnlyList<Recipient> recipients, DateTimeOffset now)
    {
        string literal = AddressLiteral(client);
        string from = IsPlainDomainOrLiteral(helo) ? helo! : "unknown";
        // RFC 3848 §2 (ESMTPS, ESMTPA, ESMTPSA) and RFC 6531 §3.7.3 (UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA).
        string suffix = (tls is not null ? "S" : "") + (authenticated ? "A" : "");
        string with = esmtp ? (smtpUtf8 ? "UTF8SMTP" : "ESMTP") + suffix : "SMTP";
        string tlsInfo = tls is null ? "" : $"\r\n\t(using {TlsVersion(tls.SslProtocol)} with cipher {tls.NegotiatedCipherSuite})";
        string date = now.UtcDateTime.ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        string @for = recipients.Count == 1 ? $"\r\n\tfor <{recipients[0].Address}>" : "";
        return $"Received: from {from} ({literal}){tlsInfo}\r\n\tby {hostName} with {with} id {id}{@for};\r\n\t{date}\r\n";
    }

    private static string TlsVersion(SslProtocols p) =>
        p == SslProtocols.Tls13 ? "TLSv1.3" : p == SslProtocols.Tls12 ? "TLSv1.2" : p.ToString();

    private static string AddressLiteral(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[IPv6:" + address + "]" : "[" + address + "]";
    }

    private static bool IsPlainDomainOrLiteral(string? name)
    {
        if (string.IsNullOrEmpty(name) || !Ascii.IsValid(name)) return false;
        ReadOnlySpan<byte> bytes = Encoding.ASCII.GetBytes(name);
        int n = bytes[0] == '[' ? PathParser.ScanAddressLiteral(bytes) : PathParser.ScanDomain(bytes, allowUtf8: false, out _);
        return n == bytes.Length;
    }
}
