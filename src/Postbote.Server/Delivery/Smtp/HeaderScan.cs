using System.Buffers;
using Postbote.Queue;

namespace Postbote.Delivery.Smtp;

/// <summary>Looks at the header section of a queued message without reading its body.</summary>
internal static class HeaderScan
{
    /// <summary>The most octets looked at: a header section longer than this is taken as 8-bit (1 MiB).</summary>
    private const int MaxHeaderBytes = 1024 * 1024;

    /// <summary>Whether the header section (up to the first empty line, RFC 5322 §2.1) holds an octet above 127.</summary>
    /// <param name="request">The message.</param>
    /// <returns><c>true</c> when a header octet is 8-bit, or the section cannot be read or is longer than 1 MiB.</returns>
    public static bool HasEightBitHeader(DeliveryRequest request)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using QueuedMessageStream message = request.OpenMessage();
            long size = message.Length;
            long done = 0;
            int state = 2; // 0 in a line, 1 after CR, 2 at a line start, 3 after CR at a line start
            while (done < size && done < MaxHeaderBytes)
            {
                int n = message.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - done)));
                if (n == 0) return false;
                for (int i = 0; i < n; i++)
                {
                    byte b = buffer[i];
                    if (b >= 0x80) return true;
                    state = (state, b) switch
                    {
                        (0, (byte)'\r') => 1,
                        (1, (byte)'\n') => 2,
                        (2, (byte)'\r') => 3,
                        (3, (byte)'\n') => 4,
                        _ => 0,
                    };
                    if (state == 4) return false;
                }
                done += n;
            }
            return done >= MaxHeaderBytes;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
