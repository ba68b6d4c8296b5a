namespace Postbote.Security.Ube;

/// <summary>A client found on a DNS list.</summary>
/// <param name="List">The list.</param>
/// <param name="Answer">The A record the list returned, e.g. <c>127.0.0.2</c>.</param>
/// <param name="Text">The list's TXT record at the same name (its reason, often a URL), or <c>null</c>.</param>
public sealed record DnsListing(DnsListZone List, System.Net.IPAddress Answer, string? Text);
