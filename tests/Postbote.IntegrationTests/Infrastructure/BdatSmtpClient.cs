using MailKit;
using MailKit.Net.Smtp;

namespace Postbote.IntegrationTests.Infrastructure;

/// <summary>A MailKit client that sends with BDAT (RFC 3030) whenever the server offers CHUNKING.</summary>
public sealed class BdatSmtpClient(IProtocolLogger logger) : SmtpClient(logger)
{
    /// <inheritdoc/>
    protected override bool PreferSendAsBinaryData => true;
}
