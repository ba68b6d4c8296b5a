namespace Postbote.Delivery.Smtp;

/// <summary>Which addresses of a mail exchanger the SMTP client tries first (setting <c>relay.address_preference</c>,
/// Postfix's <c>smtp_address_preference</c>). Whatever the preference, every address of one exchanger, IPv4 and IPv6,
/// is tried before the next exchanger, so a host whose IPv6 path is broken is still reached over IPv4 (and the
/// reverse).</summary>
public enum AddressPreference
{
    /// <summary>No preference: the addresses of one exchanger in random order of family (<c>"any"</c>, the default,
    /// as Postfix's).</summary>
    Any,

    /// <summary>IPv4 addresses first, then IPv6 (<c>"ipv4"</c>).</summary>
    IPv4,

    /// <summary>IPv6 addresses first, then IPv4 (<c>"ipv6"</c>).</summary>
    IPv6,
}
