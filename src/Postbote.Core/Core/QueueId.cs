namespace Postbote.Core;

/// <summary>
/// The queue ID of a message: 16 characters of <c>[0-9A-Z]</c> that sort by arrival time (10 characters of milliseconds
/// since the Unix epoch in base 32, then 6 of a per-process sequence and random start), safe as a file name and as the
/// <c>id</c> of a Received header (RFC 5321 §4.4).
/// </summary>
/// <param name="Value">The 16-character text form.</param>
public readonly record struct QueueId(string Value)
{
    private const string Alphabet = "0123456789ABCDEFGHJKLMNPQRSTVWXZ";
    private static long s_sequence = System.Security.Cryptography.RandomNumberGenerator.GetInt32(1 << 20);

    /// <summary>Creates a new queue ID, unique within this process and, with high probability, across restarts.</summary>
    /// <param name="now">The current time; its milliseconds since the epoch form the first 10 characters.</param>
    /// <returns>A new queue ID.</returns>
    public static QueueId New(DateTimeOffset now)
    {
        long ms = now.ToUnixTimeMilliseconds();
        long seq = Interlocked.Increment(ref s_sequence) & ((1L << 30) - 1);
        return new QueueId(string.Create(16, (ms, seq), static (span, st) =>
        {
            long v = st.ms;
            for (int i = 9; i >= 0; i--) { span[i] = Alphabet[(int)(v & 31)]; v >>= 5; }
            v = st.seq;
            for (int i = 15; i >= 10; i--) { span[i] = Alphabet[(int)(v & 31)]; v >>= 5; }
        }));
    }

    /// <summary>Whether <paramref name="text"/> has the shape of a queue ID (16 characters of the ID alphabet).</summary>
    /// <param name="text">Candidate text, e.g. a spool file name without extension.</param>
    /// <returns><c>true</c> when it is a well-formed queue ID.</returns>
    public static bool IsValid(ReadOnlySpan<char> text)
    {
        if (text.Length != 16) return false;
        foreach (char c in text) if (Alphabet.IndexOf(c) < 0) return false;
        return true;
    }

    /// <summary>The text form.</summary>
    /// <returns><see cref="Value"/>.</returns>
    public override string ToString() => Value;
}
