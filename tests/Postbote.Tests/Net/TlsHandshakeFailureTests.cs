using System.Security.Authentication;
using Postbote.Net;

namespace Postbote.Tests.Net;

public sealed class TlsHandshakeFailureTests
{
    /// <summary>.NET's own text ("see inner exception") is replaced by the innermost reason, on one line.</summary>
    [Fact]
    public void ReasonIsTheInnermostMessage()
    {
        var error = new AuthenticationException("Authentication failed, see inner exception.",
            new InvalidOperationException("SSL Handshake failed with OpenSSL error - SSL_ERROR_SSL.",
                new InvalidOperationException("error:0A0000C1:SSL routines::no shared cipher\n")));
        Assert.Equal("error:0A0000C1:SSL routines::no shared cipher", TlsHandshakeFailure.Reason(error));
    }

    [Fact]
    public void ATimeoutNamesTheLimit()
    {
        var error = new OperationCanceledException("The operation was canceled.");
        Assert.Equal("no handshake within 60 seconds", TlsHandshakeFailure.Reason(error, timedOut: true, TimeSpan.FromSeconds(60)));
        Assert.Equal("no handshake within 2.5 seconds", TlsHandshakeFailure.Reason(error, timedOut: true, TimeSpan.FromSeconds(2.5)));
    }

    [Fact]
    public void MultiLineMessagesAreFolded()
    {
        Assert.Equal("first second", TlsHandshakeFailure.Reason(new IOException("first\r\nsecond")));
    }
}
