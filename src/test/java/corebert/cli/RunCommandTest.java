package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.ParseException;
import org.junit.jupiter.api.Test;

class RunCommandTest {
  private static CommandLine budget(String value) throws ParseException {
    return new DefaultParser()
        .parse(
            new RunCommand().options(),
            new String[] {"--text", "x", "--output-dir", "y", "--time-budget", value});
  }

  @Test
  void timeBudgetsReadAsDurations() throws Exception {
    Map<String, Double> good =
        Map.of(
            "2h", 7200.0, "90m", 5400.0, "1h30m", 5400.0, "600s", 600.0, "600", 600.0, "1h5s",
            3605.0);
    for (Map.Entry<String, Double> e : good.entrySet()) {
      assertEquals(e.getValue(), RunCommand.seconds(budget(e.getKey()), "time-budget"), e.getKey());
    }
    for (String bad : List.of("1h30", "h", "10x", "-5", "0", "0h0m", "9999999h")) {
      UsageException ex =
          assertThrows(
              UsageException.class, () -> RunCommand.seconds(budget(bad), "time-budget"), bad);
      assertEquals(true, ex.getMessage().startsWith("--time-budget must be"), ex.getMessage());
    }
  }
}
