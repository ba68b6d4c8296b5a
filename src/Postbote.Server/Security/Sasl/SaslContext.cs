using System.Net;

namespace Postbote.Security.Sasl;

/// <summary>What a SASL mechanism may know about the connection.</summary>
/// <param name="RemoteAddress">The client's IP address.</param>
/// <param name="IsTls">Whether the connection is protected by TLS.</param>
/// <param name="ChannelBindings">Channel-binding data of the TLS connection by RFC 5056 channel-binding type name
/// (<c>tls-exporter</c> RFC 9266, <c>tls-server-end-point</c> and <c>tls-unique</c> RFC 5929), as far as the TLS stack
/// exposes them; empty without TLS.</param>
public sealed record SaslContext(IPAddress RemoteAddress, bool IsTls, IReadOnlyDictionary<string, byte[]> ChannelBindings);
