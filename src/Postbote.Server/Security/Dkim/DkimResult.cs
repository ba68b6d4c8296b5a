namespace Postbote.Security.Dkim;

/// <summary>The outcome of checking one DKIM-Signature field (RFC 6376 §6.1; the result names of RFC 8601 §2.7.1).</summary>
/// <param name="Result"><c>pass</c>, <c>fail</c>, <c>temperror</c> or <c>permerror</c>.</param>
/// <param name="Reason">Why it did not pass, or <c>null</c>.</param>
/// <param name="Domain">The signing domain (<c>d=</c>), or empty when the field has none.</param>
/// <param name="Selector">The selector (<c>s=</c>), or empty.</param>
/// <param name="Identity">The agent or user identifier (<c>i=</c>, default <c>@</c> and the domain).</param>
/// <param name="SignaturePrefix">The first 8 characters of the <c>b=</c> value (RFC 6008 header.b), or empty.</param>
public sealed record DkimResult(string Result, string? Reason, string Domain, string Selector, string Identity, string SignaturePrefix);
