namespace Postbote.Testing.Dns;

/// <summary>One zone for <see cref="NsdServer"/>.</summary>
/// <param name="Origin">The zone's name, e.g. <c>postbote.test</c> (no trailing dot).</param>
/// <param name="Text">The zone file (RFC 1035 §5 master file format), or <c>null</c> for a zone that is configured but
/// whose file does not load: nsd then answers SERVFAIL for every name in it.</param>
public sealed record TestZone(string Origin, string? Text);
