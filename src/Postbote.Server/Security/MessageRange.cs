namespace Postbote.Security;

/// <summary>A range of bytes of a received message, counted from the first byte of its data as received (the first
/// byte <see cref="InboundMessage.OpenRead"/> gives).</summary>
/// <param name="Start">The first byte, from 0.</param>
/// <param name="Length">The number of bytes, at least 1.</param>
public readonly record struct MessageRange(long Start, long Length);
