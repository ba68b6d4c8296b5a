namespace Postbote.Protocol.Smtp;

/// <summary>The ESMTP service extensions a listener has enabled; EHLO advertises exactly these (RFC 5321 §4.1.1.1).</summary>
[Flags]
public enum SmtpExtensions
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary><c>SIZE</c> (RFC 1870).</summary>
    Size = 1,
    /// <summary><c>PIPELINING</c> (RFC 2920).</summary>
    Pipelining = 2,
    /// <summary><c>8BITMIME</c> (RFC 6152).</summary>
    EightBitMime = 4,
    /// <summary><c>SMTPUTF8</c> (RFC 6531).</summary>
    SmtpUtf8 = 8,
    /// <summary><c>ENHANCEDSTATUSCODES</c> (RFC 2034).</summary>
    EnhancedStatusCodes = 16,
    /// <summary><c>CHUNKING</c> (RFC 3030), the BDAT command.</summary>
    Chunking = 32,
    /// <summary><c>BINARYMIME</c> (RFC 3030 §3); needs <see cref="Chunking"/>.</summary>
    BinaryMime = 64,
    /// <summary><c>DSN</c> (RFC 3461).</summary>
    Dsn = 128,
    /// <summary><c>STARTTLS</c> (RFC 3207).</summary>
    StartTls = 256,
    /// <summary><c>AUTH</c> (RFC 4954).</summary>
    Auth = 512,
    /// <summary>The set enabled by default on an MX listener without TLS.</summary>
    Default = Size | Pipelining | EightBitMime | SmtpUtf8 | EnhancedStatusCodes | Chunking | BinaryMime | Dsn,
}
