namespace Postbote.Host.Configuration;

/// <summary>The <c>[arc]</c> table (RFC 8617): verifying ARC chains on inbound mail and sealing mail Postbote forwards.</summary>
public sealed class ArcSettings
{
    /// <summary>Whether the end-of-data policy "ARC verify" checks the chain of inbound mail and records
    /// <c>arc=pass|fail|none</c> for Authentication-Results (setting <c>arc.verify</c>). Defaults to true.</summary>
    public bool Verify { get; set; } = true;

    /// <summary>Whether forwarded mail is sealed (setting <c>arc.seal</c>); <c>null</c> (the default) seals when a key
    /// exists: <see cref="SealKey"/>, or a <c>[[dkim.sign]]</c> key of the forwarding domain.</summary>
    public bool? Seal { get; set; }

    /// <summary>The <c>d=</c> of our ARC sets (setting <c>arc.seal_domain</c>), with <see cref="SealSelector"/> and
    /// <see cref="SealKey"/>; <c>null</c> (the default) for the forwarding domain's first <c>[[dkim.sign]]</c> entry.</summary>
    public string? SealDomain { get; set; }

    /// <summary>The <c>s=</c> of our ARC sets (setting <c>arc.selector</c>); needs <see cref="SealDomain"/>.</summary>
    public string? SealSelector { get; set; }

    /// <summary>The PEM key file of our ARC sets, an RSA key (setting <c>arc.key</c>; RFC 8617 signs with rsa-sha256 only); defaults to the keygen path of
    /// <see cref="SealDomain"/> and <see cref="SealSelector"/>.</summary>
    public string? SealKey { get; set; }
}
