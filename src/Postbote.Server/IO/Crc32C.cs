using System.Buffers.Binary;
using System.Numerics;

namespace Postbote.IO;

/// <summary>CRC-32C (Castagnoli, RFC 3720 §B.4), hardware-accelerated where the CPU has it.</summary>
internal static class Crc32C
{
    /// <summary>Computes the CRC-32C of <paramref name="data"/> (check value of "123456789": 0xE3069283).</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFFu, data);

    /// <summary>Continues a running CRC-32C over more data; start with <c>0xFFFFFFFF</c> and complement the end result.</summary>
    /// <param name="crc">The running state.</param>
    /// <param name="data">The next bytes.</param>
    /// <returns>The new running state.</returns>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
