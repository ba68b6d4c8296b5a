namespace Postbote.Core;

/// <summary>The body type a client declared with the MAIL parameter <c>BODY=</c>.</summary>
public enum BodyType
{
    /// <summary>No BODY parameter, or <c>BODY=7BIT</c> (RFC 6152 §2).</summary>
    SevenBit,
    /// <summary><c>BODY=8BITMIME</c> (RFC 6152 §2).</summary>
    EightBitMime,
    /// <summary><c>BODY=BINARYMIME</c>, only with BDAT (RFC 3030 §3).</summary>
    BinaryMime,
}
