using System.Net;

namespace Postbote.Delivery.Smtp;

/// <summary>One address to try for a destination domain, in the order of RFC 5321 §5.1.</summary>
/// <param name="Name">The mail exchanger's host name (or the domain itself for the implicit MX, or an address literal).</param>
/// <param name="Preference">The MX preference (0 for the implicit MX and address literals).</param>
/// <param name="Address">One of its addresses.</param>
public sealed record MailExchanger(string Name, ushort Preference, IPAddress Address);
