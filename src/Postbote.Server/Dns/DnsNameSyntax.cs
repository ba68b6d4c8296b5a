namespace Postbote.Dns;

/// <summary>Which names a lookup accepts before it sends a query.</summary>
public enum DnsNameSyntax
{
    /// <summary>Host names: letters, digits, hyphen and underscore in each label, U-labels sent as A-labels (RFC 1123
    /// §2.1, RFC 5890). What relaying and DKIM ask for.</summary>
    HostName,

    /// <summary>Any printable US-ASCII in a label, spaces included: the names SPF builds by macro expansion (RFC 7208
    /// §7.3), which the DNS carries as any octets (RFC 2181 §11: "any binary string whatever can be used as the label of
    /// any resource record"). Label and name lengths are still bounded (RFC 1035 §2.3.4).</summary>
    AnyText,
}
