namespace Postbote.Security.Ube;

/// <summary>The <c>[dnsbl]</c> and <c>[dnswl]</c> tables: which DNS lists (RFC 5782) the client address is checked
/// against, and what a listing does.</summary>
public sealed class DnsListOptions
{
    /// <summary>Block lists (<c>[dnsbl] zones</c>), asked in this order. Empty (the default): no DNSBL check.</summary>
    public IList<DnsListZone> BlockLists { get; set; } = new List<DnsListZone>();

    /// <summary>What a block listing does (<c>[dnsbl] action</c>). Defaults to <see cref="DnsListAction.Reject"/>.</summary>
    public DnsListAction Action { get; set; } = DnsListAction.Reject;

    /// <summary>Allow lists (<c>[dnswl] zones</c>): a client listed in any of them skips the DNSBL check and
    /// greylisting. Empty (the default): none.</summary>
    public IList<DnsListZone> AllowLists { get; set; } = new List<DnsListZone>();
}
