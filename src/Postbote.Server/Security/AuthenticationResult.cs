namespace Postbote.Security;

/// <summary>
/// One message authentication result, the <c>resinfo</c> of RFC 8601 §2.2: <c>method=result (reason) ptype.property=value …</c>,
/// for example <c>spf=pass smtp.mailfrom=example.org</c> or <c>dkim=fail header.d=example.org header.s=s1</c>.
/// </summary>
/// <param name="Method">The method (RFC 8601 §2.7): <c>spf</c>, <c>dkim</c>, <c>dmarc</c>, <c>arc</c>, <c>iprev</c> …</param>
/// <param name="Result">The result keyword of that method (RFC 8601 §2.7.1–2.7.3, RFC 7489 §11.2, RFC 8617 §7.2):
/// <c>pass</c>, <c>fail</c>, <c>softfail</c>, <c>neutral</c>, <c>none</c>, <c>temperror</c>, <c>permerror</c>, <c>policy</c>.</param>
/// <param name="Reason">A reason in plain text for people (RFC 8601 §2.2 <c>reasonspec</c>), or <c>null</c>.</param>
/// <param name="Properties">The properties (<c>ptype.property=value</c>), in order; <c>null</c> for none.</param>
public sealed record AuthenticationResult(string Method, string Result, string? Reason = null,
    IReadOnlyList<AuthenticationProperty>? Properties = null)
{
    /// <summary>The value of the first property of that type and name, or <c>null</c>.</summary>
    /// <param name="type">The ptype: <c>smtp</c>, <c>header</c>, <c>body</c>, <c>policy</c>.</param>
    /// <param name="property">The property: <c>mailfrom</c>, <c>helo</c>, <c>d</c>, <c>from</c> …</param>
    /// <returns>The value or <c>null</c>.</returns>
    public string? Get(string type, string property)
    {
        if (Properties is null) return null;
        foreach (AuthenticationProperty p in Properties)
            if (string.Equals(p.Type, type, StringComparison.OrdinalIgnoreCase) && string.Equals(p.Property, property, StringComparison.OrdinalIgnoreCase))
                return p.Value;
        return null;
    }
}
