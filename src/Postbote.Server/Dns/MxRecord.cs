namespace Postbote.Dns;

/// <summary>One MX record (RFC 1035 §3.3.9; its use in RFC 5321 §5.1).</summary>
/// <param name="Preference">The preference, 0 to 65535: lower values are tried first.</param>
/// <param name="Exchange">The mail exchanger's host name, lower case, without the trailing dot; <c>"."</c> for the root
/// (a null MX).</param>
public sealed record MxRecord(ushort Preference, string Exchange)
{
    /// <summary>Whether this is the null MX of RFC 7505 §3: "The null MX RR is an ordinary MX record with an RDATA
    /// section consisting of preference number 0 and a zero-length label, written in master files as ".", as the
    /// exchange domain, to denote that there exists no mail exchanger for a domain." An exchange of "." with another
    /// preference names no host either and is taken the same way.</summary>
    public bool IsNullMx => Exchange == ".";

    /// <summary>Whether an MX RRset declares that the domain accepts no mail: it holds a null MX. RFC 7505 §3: "A domain
    /// that advertises a null MX MUST NOT advertise any other MX RR." A set that breaks this still holds the domain's
    /// statement that it takes no mail, so it counts as null MX too.</summary>
    /// <param name="records">The MX records of one domain.</param>
    /// <returns><c>true</c> when any record is a null MX.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="records"/> is <c>null</c>.</exception>
    public static bool IsNullMxSet(IEnumerable<MxRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return records.Any(r => r.IsNullMx);
    }
}
