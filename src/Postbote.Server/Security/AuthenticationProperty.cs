namespace Postbote.Security;

/// <summary>One property of an authentication result, RFC 8601 §2.2 <c>propspec = ptype "." property "=" pvalue</c>,
/// such as <c>smtp.mailfrom=example.org</c> or <c>header.d=example.org</c>.</summary>
/// <param name="Type">The ptype: <c>smtp</c>, <c>header</c>, <c>body</c> or <c>policy</c> (RFC 8601 §2.3).</param>
/// <param name="Property">The property name: <c>mailfrom</c>, <c>helo</c>, <c>d</c>, <c>i</c>, <c>s</c>, <c>b</c>, <c>from</c> …</param>
/// <param name="Value">The value as it is to be written (a domain, an address, a token).</param>
public readonly record struct AuthenticationProperty(string Type, string Property, string Value);
