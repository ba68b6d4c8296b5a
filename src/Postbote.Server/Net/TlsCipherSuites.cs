using System.Net.Security;

namespace Postbote.Net;

/// <summary>
/// The cipher suites the server negotiates. By default only AEAD suites: the three of TLS 1.3 and, for TLS 1.2, ECDHE
/// key exchange with AES-GCM or ChaCha20-Poly1305 (the recommended suites of RFC 9325 §4.2). The CBC suites that .NET
/// offers on its own (ECDHE with AES-CBC and HMAC-SHA256/384) are left out: their MAC-then-encrypt construction is what
/// the LUCKY13 padding-oracle attack measures (RFC 7457 lists it among the known attacks on TLS). <see cref="Legacy"/>
/// adds CBC and RSA key-exchange suites for MX listeners, where TLS is opportunistic (RFC 7435) and a sender that knows
/// only those would otherwise send in clear text.
/// </summary>
public static class TlsCipherSuites
{
    /// <summary>
    /// TLS 1.3 (RFC 8446 §9.1: "A TLS-compliant application MUST implement the TLS_AES_128_GCM_SHA256 [GCM] cipher suite
    /// and SHOULD implement the TLS_AES_256_GCM_SHA384 [GCM] and TLS_CHACHA20_POLY1305_SHA256 [RFC8439] cipher suites"),
    /// then the TLS 1.2 ECDHE suites with AES-GCM (RFC 5289) and ChaCha20-Poly1305 (RFC 7905), ECDSA and RSA
    /// certificates alike; in the server's order of preference.
    /// </summary>
    public static IReadOnlyList<TlsCipherSuite> Aead { get; } =
    [
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];

    /// <summary>
    /// <see cref="Aead"/> first, then for TLS 1.2 senders that know nothing better: ECDHE with AES-CBC (HMAC-SHA256/384
    /// and HMAC-SHA1, RFC 5289, RFC 8422), and RSA key exchange (no forward secrecy) with AES-GCM and AES-CBC (RFC 5288,
    /// RFC 5246). No RC4, 3DES, NULL, export or anonymous suite is ever offered (RFC 9325 §4.1).
    /// </summary>
    public static IReadOnlyList<TlsCipherSuite> Legacy { get; } =
    [
        .. Aead,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
    ];

    /// <summary>The policy for a handshake: <see cref="Aead"/>, or <see cref="Legacy"/> when asked for.</summary>
    /// <param name="legacy">Whether the CBC and RSA key-exchange suites of <see cref="Legacy"/> are allowed.</param>
    /// <returns>The policy; <c>null</c> on Windows, where .NET cannot restrict suites per connection and the system's
    /// own list applies.</returns>
    public static CipherSuitesPolicy? Policy(bool legacy)
    {
        if (OperatingSystem.IsWindows()) return null;
        return new CipherSuitesPolicy(legacy ? Legacy : Aead);
    }
}
