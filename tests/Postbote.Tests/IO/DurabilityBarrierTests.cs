using Postbote.IO;
using Postbote.Tests.Queue;

namespace Postbote.Tests.IO;

public sealed class DurabilityBarrierTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(SyncMode.SyncFs)]
    [InlineData(SyncMode.FsyncEachFile)]
    public async Task RequestsArrivingDuringARoundShareTheNextOne(SyncMode mode)
    {
        using var barrier = new DurabilityBarrier(_dir.Path, mode);
        string[] dirs = [_dir.Path];
        var tasks = new Task[1000];
        for (int i = 0; i < tasks.Length; i++) tasks[i] = barrier.SyncAsync(dirs, CancellationToken.None);
        await Task.WhenAll(tasks);
        Assert.InRange(barrier.Rounds, 1, 999);
    }

    [Fact]
    public async Task FailedDirectorySyncFailsOnlyItsWaiters()
    {
        using var barrier = new DurabilityBarrier(_dir.Path, SyncMode.FsyncEachFile);
        Task bad = barrier.SyncAsync([_dir.Combine("does-not-exist")], CancellationToken.None);
        Task good = barrier.SyncAsync([_dir.Path], CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => bad);
        await good;
    }

    [Fact]
    public async Task DisposedBarrierRefusesNewRequests()
    {
        var barrier = new DurabilityBarrier(_dir.Path, SyncMode.SyncFs);
        await barrier.SyncAsync(null, CancellationToken.None);
        barrier.Dispose();
        Assert.Throws<ObjectDisposedException>(() => { _ = barrier.SyncAsync(null, CancellationToken.None); });
    }
}
