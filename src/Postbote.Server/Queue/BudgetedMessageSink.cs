using Postbote.Core;

namespace Postbote.Queue;

/// <summary>
/// The spool as the SMTP service sees it: every message writer it begins shares one <see cref="BodyMemoryBudget"/>, so
/// bodies being received hold at most <see cref="BodyMemoryBudget.Limit"/> bytes of memory in all; past that, a body is
/// streamed to the message's own file (<c>&lt;id&gt;.eml</c>) as it arrives.
/// </summary>
public sealed class BudgetedMessageSink : IMessageSink
{
    private readonly Spool _spool;

    /// <summary>Creates the sink.</summary>
    /// <param name="spool">The spool the messages go to.</param>
    /// <param name="budget">The memory budget shared by all messages being received.</param>
    public BudgetedMessageSink(Spool spool, BodyMemoryBudget budget)
    {
        ArgumentNullException.ThrowIfNull(spool);
        ArgumentNullException.ThrowIfNull(budget);
        _spool = spool;
        Budget = budget;
    }

    /// <summary>The budget the writers share.</summary>
    public BodyMemoryBudget Budget { get; }

    /// <inheritdoc />
    public async ValueTask<IMessageWriter> BeginAsync(QueueId id, CancellationToken cancellationToken)
    {
        IMessageWriter writer = await _spool.BeginAsync(id, cancellationToken).ConfigureAwait(false);
        if (writer is SpoolWriter spoolWriter) spoolWriter.UseBudget(Budget);
        return writer;
    }
}
