using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Postbote.Host.Control;

/// <summary>Who is at the other end of a unix domain socket: the user ID the kernel recorded when the peer connected
/// (<c>SO_PEERCRED</c>, Linux socket(7)), which the peer cannot forge.</summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The peer's user ID.</summary>
    /// <param name="socket">A connected unix domain socket.</param>
    /// <param name="uid">The user ID, when known.</param>
    /// <returns><c>false</c> where the system does not say (not Linux).</returns>
    public static bool TryGetUid(Socket socket, out uint uid)
    {
        uid = 0;
        if (!OperatingSystem.IsLinux()) return false;
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit integers in the machine's byte order.
        Span<byte> ucred = stackalloc byte[12];
        if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) < 12) return false;
        uid = MemoryMarshal.Read<uint>(ucred[4..]);
        return true;
    }

    /// <summary>The user ID this process runs as.</summary>
    /// <returns>geteuid(2).</returns>
    public static uint EffectiveUid() => OperatingSystem.IsWindows() ? 0 : GetEuid();

    [DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}
