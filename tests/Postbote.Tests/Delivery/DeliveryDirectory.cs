using Postbote.IO;
using Postbote.Queue;

namespace Postbote.Tests.Delivery;

/// <summary>
/// What a delivery test stands on: a fresh temp directory and a durability barrier over it, both removed on dispose.
/// </summary>
public sealed class DeliveryDirectory : IDisposable
{
    private readonly TempDirectory _dir = new();

    /// <param name="mode">How the barrier makes writes durable.</param>
    public DeliveryDirectory(SyncMode mode) => Barrier = new DurabilityBarrier(_dir.Path, mode);

    /// <summary>The barrier the delivery agents under test wait on.</summary>
    public DurabilityBarrier Barrier { get; }

    /// <summary>The absolute path of the directory.</summary>
    public string Path => _dir.Path;

    /// <summary>The path of <paramref name="parts"/> below the directory (nothing is created).</summary>
    public string Combine(params string[] parts) => _dir.Combine(parts);

    /// <summary>Stops the barrier, then removes the directory.</summary>
    public void Dispose()
    {
        Barrier.Dispose();
        _dir.Dispose();
    }
}
