namespace Postbote.Security.Ube;

/// <summary>What a DNSBL listing does (<c>[dnsbl] action</c>).</summary>
public enum DnsListAction
{
    /// <summary>Refuse the recipient with <c>554 5.7.1</c> naming the list.</summary>
    Reject,

    /// <summary>Accept, log the listing and add <c>X-Postbote-DNSBL: zone</c> to the message.</summary>
    Record,
}
