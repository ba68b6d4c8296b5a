namespace Postbote.Core;

/// <summary>
/// A mailbox <c>Local-part "@" ( Domain / address-literal )</c> (RFC 5321 §4.1.2), or the special domain-less
/// <c>Postmaster</c> (RFC 5321 §4.1.1.3), as it came off the wire: the local part is kept in its wire form
/// (a dot-string, or a quoted-string with its quotes), so relaying passes it on unchanged.
/// </summary>
/// <param name="LocalPart">The local part in wire form, e.g. <c>alice</c> or <c>"john doe"</c>; up to 64 octets
/// (RFC 5321 §4.5.3.1.1). UTF-8 only when the transaction uses SMTPUTF8 (RFC 6531 §3.3).</param>
/// <param name="Domain">The domain (without trailing dot) or address literal in brackets, e.g. <c>example.com</c> or
/// <c>[IPv6:2001:db8::1]</c>; empty for the domain-less <c>&lt;Postmaster&gt;</c>.</param>
public sealed record Mailbox(string LocalPart, string Domain)
{
    /// <summary>Whether this is the domain-less <c>&lt;Postmaster&gt;</c> (RFC 5321 §4.1.1.3).</summary>
    public bool IsDomainlessPostmaster => Domain.Length == 0;

    /// <summary>Whether the domain is an address literal such as <c>[192.0.2.1]</c> (RFC 5321 §4.1.3).</summary>
    public bool IsAddressLiteral => Domain.Length > 0 && Domain[0] == '[';

    /// <summary>The address as <c>local@domain</c>, or <c>Postmaster</c> for the domain-less form.</summary>
    /// <returns>The address without angle brackets.</returns>
    public override string ToString() => Domain.Length == 0 ? LocalPart : LocalPart + "@" + Domain;

    /// <summary>The local part with quoting and quoted-pair escapes removed, for mailbox lookups.</summary>
    public string UnquotedLocalPart
    {
        get
        {
            if (LocalPart.Length < 2 || LocalPart[0] != '"') return LocalPart;
            var sb = new System.Text.StringBuilder(LocalPart.Length);
            for (int i = 1; i < LocalPart.Length - 1; i++)
            {
                char c = LocalPart[i];
                if (c == '\\' && i + 1 < LocalPart.Length - 1) c = LocalPart[++i];
                sb.Append(c);
            }
            return sb.ToString();
        }
    }
}
