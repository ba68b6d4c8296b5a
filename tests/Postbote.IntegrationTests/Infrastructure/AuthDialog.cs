using System.Net.Security;
using System.Text;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>STARTTLS and AUTH steps over a <see cref="SmtpConnection"/>, with assertions that show the transcript.</summary>
public static class AuthDialog
{
    /// <summary>The SASL PLAIN initial response (RFC 4616): base64 of NUL user NUL password.</summary>
    public static string Plain(string user, string password) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    /// <summary>Base64 of the UTF-8 bytes of <paramref name="text"/> (the AUTH LOGIN steps).</summary>
    public static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>EHLO (STARTTLS offered, AUTH not), STARTTLS (exactly 220 2.0.0), the handshake, EHLO again.</summary>
    /// <returns>The EHLO reply inside TLS.</returns>
    public static async Task<SmtpResponse> StartTlsAsync(SmtpConnection smtp, RemoteCertificateValidationCallback? validate = null)
    {
        var ehlo = await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        Assert.True(ehlo.Text.Contains("250-STARTTLS\r\n", StringComparison.Ordinal) || ehlo.Text.Contains("250 STARTTLS\r\n", StringComparison.Ordinal),
            $"STARTTLS not offered before TLS\n{smtp.Transcript}");
        Assert.False(ehlo.Text.Contains("AUTH", StringComparison.Ordinal), $"AUTH offered before TLS\n{smtp.Transcript}");
        await SmtpDialog.ExpectAsync(smtp, "STARTTLS", "^220 2\\.0\\.0 ");
        await smtp.StartTlsAsync(validate);
        return await EhloInTlsAsync(smtp);
    }

    /// <summary>
    /// STARTTLS with <paramref name="pipelined"/> in the same write (clear-text commands that must not run inside TLS,
    /// CVE-2011-0411): asserts exactly "220 2.0.0 Ready to start TLS", runs the handshake (which fails on any clear-text
    /// byte after the 220) and asserts that nothing arrives unasked inside TLS within 1.5 s.
    /// </summary>
    public static async Task StartTlsWithPipelinedAsync(SmtpConnection smtp, string pipelined, RemoteCertificateValidationCallback? validate = null)
    {
        await smtp.SendAsync("STARTTLS\r\n" + pipelined);
        var ready = await smtp.ReadReplyAsync();
        Assert.True(ready.Text == "220 2.0.0 Ready to start TLS\r\n", $"reply to STARTTLS: {ready}\n{smtp.Transcript}");
        await smtp.StartTlsAsync(validate);
        Assert.False(await smtp.AnythingArrivesAsync(TimeSpan.FromSeconds(1.5)), $"unsolicited bytes after the handshake\n{smtp.Transcript}");
    }

    /// <summary>EHLO inside TLS: 250, no STARTTLS, AUTH with the four mechanisms on TLS 1.2 and without -PLUS on TLS 1.3
    /// (its binding there, tls-exporter, is not served unless [auth] scram_plus_tls13 is set).</summary>
    public static async Task<SmtpResponse> EhloInTlsAsync(SmtpConnection smtp)
    {
        var ehlo = await SmtpDialog.ExpectAsync(smtp, "EHLO client.test", "^250");
        Assert.False(ehlo.Text.Contains("STARTTLS", StringComparison.Ordinal), $"STARTTLS offered inside TLS\n{smtp.Transcript}");
        var expected = smtp.Tls?.SslProtocol == System.Security.Authentication.SslProtocols.Tls13
            ? "AUTH SCRAM-SHA-256 PLAIN LOGIN\r\n"
            : "AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN\r\n";
        Assert.True(ehlo.Text.Contains(expected, StringComparison.Ordinal), $"not offered inside TLS: {expected}\n{smtp.Transcript}");
        return ehlo;
    }

    /// <summary>AUTH PLAIN with an initial response; asserts the reply matches <paramref name="expected"/>.</summary>
    public static Task<SmtpResponse> PlainAsync(SmtpConnection smtp, string user, string password, string expected = "^235 2\\.7\\.0 ") =>
        SmtpDialog.ExpectAsync(smtp, "AUTH PLAIN " + Plain(user, password), expected);
}
