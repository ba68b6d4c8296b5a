using Postbote.Core;
using Postbote.Queue;

namespace Postbote.Tests.Queue;

/// <summary>The process dies while a hold or delete record is being written: whatever part of it reached the disk,
/// nothing is lost. The death is made the way a crash leaves the spool: the record cut short at every length, and the
/// durable mark still where the last completed sync put it.</summary>
public sealed class QueueControlCrashTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("hold")]
    [InlineData("delete")]
    public async Task ACrashDuringAControlRecordLosesNothing(string command)
    {
        byte[] before, after, markBefore;
        string segmentName;
        QueueId id;
        await using (var h = new SchedulerHarness(SchedulerHarness.All(() => RecipientResult.Temporary("try later")), directory: _dir))
        {
            await h.StartAsync();
            id = await h.CommitAsync("a@example.com", "b@example.com");
            await h.WaitForCalls(1);
            await SchedulerHarness.WaitUntil(() => h.Scheduler.DeferredCount == 1, "deferred");
            string segment = Assert.Single(Directory.GetFiles(_dir.Combine("spool"), "seg-*.log"));
            segmentName = Path.GetFileName(segment);
            before = File.ReadAllBytes(segment);
            markBefore = File.ReadAllBytes(_dir.Combine("spool", "durable"));
            QueueControlResult result = command == "hold"
                ? await h.Scheduler.HoldAsync(id, CancellationToken.None)
                : await h.Scheduler.DeleteAsync(id, CancellationToken.None);
            Assert.Equal(QueueControlResult.Done, result);
            after = File.ReadAllBytes(segment);
        }
        Assert.True(after.Length > before.Length);
        Assert.Equal(before, after[..before.Length]);

        int checkedCuts = 0;
        for (int cut = before.Length; cut <= after.Length; cut += cut + 7 < after.Length ? 7 : 1)
        {
            using var crashed = new TempDirectory();
            Directory.CreateDirectory(crashed.Combine("spool"));
            File.WriteAllBytes(crashed.Combine("spool", segmentName), after[..cut]);
            File.WriteAllBytes(crashed.Combine("spool", "durable"), markBefore);
            using var spool = new Spool(new SpoolOptions { Directory = crashed.Combine("spool"), CorruptDirectory = crashed.Combine("corrupt") },
                Microsoft.Extensions.Logging.Abstractions.NullLogger<Spool>.Instance);
            int live = await spool.RecoverAsync(CancellationToken.None);
            bool complete = cut == after.Length;
            Assert.False(Directory.Exists(crashed.Combine("corrupt")), $"cut at {cut}: something was set aside");
            if (command == "delete" && complete)
            {
                Assert.Equal(0, live);
                continue;
            }
            Assert.Equal(1, live);
            Assert.True(spool.Committed.TryRead(out SpoolEntry? entry), $"cut at {cut}: the message is lost");
            Assert.Equal(id, entry!.Envelope.Id);
            Assert.Equal("Subject: t\r\n\r\nbody\r\n"u8.ToArray(), Spool.ReadBody(entry));
            DeliveryStatus expected = command == "hold" && complete ? DeliveryStatus.Held : DeliveryStatus.Deferred;
            Assert.All(entry.Envelope.Recipients, r => Assert.Equal(expected, r.Status));
            Assert.All(entry.States, s => Assert.Equal("451 4.3.0 try later", s.LastReply));
            checkedCuts++;
        }
        Assert.True(checkedCuts > 3);
    }
}
