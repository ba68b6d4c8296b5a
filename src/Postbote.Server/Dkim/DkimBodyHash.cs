using System.Buffers;
using System.Security.Cryptography;

namespace Postbote.Dkim;

/// <summary>
/// The SHA-256 hash of a message body in one of the two DKIM body canonicalizations (RFC 6376 §3.4.3 "simple", §3.4.4
/// "relaxed"), fed chunk by chunk so a body of any size is hashed without being held, optionally only its first
/// <c>l=</c> canonical octets (§3.5: "Body length count (plain-text unsigned decimal integer; OPTIONAL, default is
/// entire body)"). State is carried across chunks.
/// </summary>
internal abstract class DkimBodyHash : IDisposable
{
    /// <summary>CR LF.</summary>
    protected static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _out = ArrayPool<byte>.Shared.Rent(8192);
    private readonly long _limit;
    private int _used;

    /// <summary>Creates the hash.</summary>
    /// <param name="limit">The most canonical octets hashed (the <c>l=</c> value), or −1 for the whole body.</param>
    protected DkimBodyHash(long limit) => _limit = limit;

    /// <summary>The canonical body octets produced so far, also those beyond the limit (not hashed).</summary>
    public long CanonicalLength { get; private set; }

    /// <summary>A hash of the body in the given canonicalization.</summary>
    /// <param name="relaxed">"relaxed" when true, "simple" when false.</param>
    /// <param name="limit">The <c>l=</c> value, or −1.</param>
    /// <returns>A new hash.</returns>
    public static DkimBodyHash Create(bool relaxed, long limit = -1) =>
        relaxed ? new RelaxedBodyHash(limit) : new SimpleBodyHash(limit);

    /// <summary>Adds the next octets of the body.</summary>
    /// <param name="chunk">The octets.</param>
    public abstract void Append(ReadOnlySpan<byte> chunk);

    /// <summary>Ends the body and gives its hash (the <c>bh=</c> value before base64).</summary>
    /// <returns>32 bytes.</returns>
    public byte[] Complete()
    {
        End();
        Flush();
        return _hash.GetHashAndReset();
    }

    /// <summary>Writes what the end of the body adds (the final CRLF rules of the canonicalization).</summary>
    protected abstract void End();

    /// <summary>Adds canonical octets: they count towards <see cref="CanonicalLength"/> and are hashed up to the limit.</summary>
    /// <param name="octets">The canonical octets.</param>
    protected void Write(ReadOnlySpan<byte> octets)
    {
        if (_limit >= 0)
        {
            long room = Math.Max(0, _limit - CanonicalLength);
            CanonicalLength += octets.Length;
            if (room < octets.Length) octets = octets[..(int)room];
        }
        else
        {
            CanonicalLength += octets.Length;
        }
        if (_used + octets.Length > _out.Length) Flush();
        if (octets.Length > _out.Length)
        {
            _hash.AppendData(octets);
            return;
        }
        octets.CopyTo(_out.AsSpan(_used));
        _used += octets.Length;
    }

    private void Flush()
    {
        if (_used == 0) return;
        _hash.AppendData(_out, 0, _used);
        _used = 0;
    }

    /// <summary>Releases the hash and its buffer; the object is not used again.</summary>
    public void Dispose()
    {
        _hash.Dispose();
        ArrayPool<byte>.Shared.Return(_out);
    }
}
