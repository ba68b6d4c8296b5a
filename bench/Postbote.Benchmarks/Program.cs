using BenchmarkDotNet.Running;

namespace Postbote.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release -- --filter '*' --job short</c>.</summary>
public static class Program
{
    /// <summary>Runs the benchmarks chosen on the command line (BenchmarkDotNet switcher).</summary>
    /// <param name="args">BenchmarkDotNet arguments.</param>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
