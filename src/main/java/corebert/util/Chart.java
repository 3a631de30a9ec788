package corebert.util;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import javax.imageio.ImageIO;

/**
 * Small charts written as PNG with Java2D, headless: enough for benchmark results and run reports.
 */
public final class Chart {
  private static final Color[] SERIES = {
    new Color(0x4C72B0),
    new Color(0xDD8452),
    new Color(0x55A868),
    new Color(0xC44E52),
    new Color(0x8172B3),
    new Color(0x937860)
  };
  private static final int W = 900;
  private static final int H = 580;
  private static final int LEFT = 80;
  private static final int RIGHT = 30;
  private static final int TOP = 60;
  private static final int BOTTOM = 120;
  private static final int PLOT_W = W - LEFT - RIGHT;
  private static final int PLOT_H = H - TOP - BOTTOM;

  /**
   * One line: points (x[i], y[i]) joined in order; segments up to point {@code dashedUntil} are
   * dashed. Lines of one {@code series} share a colour and one legend entry; bold ones are wider.
   */
  public record Line(
      String name, double[] x, double[] y, int dashedUntil, int series, boolean bold) {}

  /** A vertical marker at x with a label, e.g. CoRe's phase switch. */
  public record Marker(String label, double x, int series) {}

  /** A horizontal grey level at y with a label, e.g. a target loss. */
  public record Level(String label, double y) {}

  private Chart() {}

  /**
   * A grouped bar chart.
   *
   * @param groups labels under each group of bars
   * @param series the legend names, one per bar in a group
   * @param values values[group][series]
   */
  public static void bars(
      Path png,
      String title,
      String yLabel,
      List<String> groups,
      List<String> series,
      double[][] values) {
    double max = 0;
    for (double[] row : values) {
      for (double v : row) {
        max = Math.max(max, v);
      }
    }
    max = max <= 0 ? 1 : max * 1.15;
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas(img, title);
    yAxis(g, 0, max, yLabel);
    int groupW = PLOT_W / Math.max(1, groups.size());
    int barW = Math.max(10, groupW / (series.size() + 2));
    for (int gi = 0; gi < groups.size(); gi++) {
      int x0 = LEFT + gi * groupW + (groupW - barW * series.size()) / 2;
      for (int si = 0; si < series.size(); si++) {
        double v = values[gi][si];
        int bh = (int) (PLOT_H * v / max);
        g.setColor(SERIES[si % SERIES.length]);
        g.fillRect(x0 + si * barW, TOP + PLOT_H - bh, barW - 4, bh);
        g.setColor(Color.BLACK);
        g.drawString(String.format("%.1f", v), x0 + si * barW, TOP + PLOT_H - bh - 4);
      }
      g.drawString(groups.get(gi), LEFT + gi * groupW + groupW / 2 - 30, TOP + PLOT_H + 20);
    }
    legend(g, series);
    write(img, g, png);
  }

  /** A line chart with optional vertical markers and levels; the y axis spans the data. */
  public static void lines(
      Path png,
      String title,
      String xLabel,
      String yLabel,
      List<Line> lines,
      List<Marker> markers,
      List<Level> levels) {
    double xMax = 0;
    double yMin = Double.MAX_VALUE;
    double yMax = -Double.MAX_VALUE;
    for (Line l : lines) {
      for (int i = 0; i < l.x().length; i++) {
        xMax = Math.max(xMax, l.x()[i]);
        yMin = Math.min(yMin, l.y()[i]);
        yMax = Math.max(yMax, l.y()[i]);
      }
    }
    if (yMin > yMax) {
      yMin = 0;
      yMax = 1;
    }
    double pad = Math.max(1e-3, (yMax - yMin) * 0.05);
    double lo = yMin - pad;
    double hi = yMax + pad;
    double xHi = xMax <= 0 ? 1 : xMax * 1.02;
    BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas(img, title);
    yAxis(g, lo, hi, yLabel);
    for (int i = 0; i <= 5; i++) {
      int x = LEFT + (int) (PLOT_W * i / 5.0);
      g.drawString(String.format("%.0f", xHi * i / 5), x - 10, TOP + PLOT_H + 18);
    }
    g.drawString(xLabel, LEFT + PLOT_W / 2 - 40, TOP + PLOT_H + 38);
    final double xScale = xHi;
    DoubleUnaryOperator px = x -> LEFT + PLOT_W * x / xScale;
    DoubleUnaryOperator py = y -> TOP + PLOT_H - PLOT_H * (y - lo) / (hi - lo);
    for (Level level : levels) {
      int y = (int) py.applyAsDouble(level.y());
      g.setColor(Color.GRAY);
      g.setStroke(new BasicStroke(1));
      g.drawLine(LEFT, y, LEFT + PLOT_W, y);
      g.drawString(
          level.label(), LEFT + PLOT_W - 10 - g.getFontMetrics().stringWidth(level.label()), y - 3);
    }
    for (Line l : lines) {
      g.setColor(SERIES[l.series() % SERIES.length]);
      float width = l.bold() ? 4 : 1.5f;
      int dot = l.bold() ? 8 : 5;
      for (int i = 0; i < l.x().length; i++) {
        int x = (int) px.applyAsDouble(l.x()[i]);
        int y = (int) py.applyAsDouble(l.y()[i]);
        g.fillOval(x - dot / 2, y - dot / 2, dot, dot);
        if (i > 0) {
          g.setStroke(
              i <= l.dashedUntil()
                  ? new BasicStroke(
                      width,
                      BasicStroke.CAP_BUTT,
                      BasicStroke.JOIN_MITER,
                      10,
                      new float[] {6, 4},
                      0)
                  : new BasicStroke(width));
          g.drawLine(
              (int) px.applyAsDouble(l.x()[i - 1]), (int) py.applyAsDouble(l.y()[i - 1]), x, y);
        }
      }
    }
    g.setStroke(
        new BasicStroke(
            1, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {3, 3}, 0));
    for (int i = 0; i < markers.size(); i++) {
      Marker m = markers.get(i);
      int x = (int) px.applyAsDouble(m.x());
      g.setColor(SERIES[m.series() % SERIES.length]);
      g.drawLine(x, TOP, x, TOP + PLOT_H);
      g.drawString(m.label(), x + 4, TOP + 14 + 14 * i);
    }
    List<String> names = new ArrayList<>();
    for (Line l : lines) {
      while (names.size() <= l.series()) {
        names.add("");
      }
      names.set(l.series(), l.name());
    }
    legend(g, names);
    write(img, g, png);
  }

  private static Graphics2D canvas(BufferedImage img, String title) {
    System.setProperty("java.awt.headless", "true");
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, W, H);
    g.setColor(Color.BLACK);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
    g.drawString(title, LEFT, 30);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.setStroke(new BasicStroke(1));
    g.drawLine(LEFT, TOP, LEFT, TOP + PLOT_H);
    g.drawLine(LEFT, TOP + PLOT_H, LEFT + PLOT_W, TOP + PLOT_H);
    return g;
  }

  /** Five grid lines from lo to hi with their values, and the axis label above. */
  private static void yAxis(Graphics2D g, double lo, double hi, String label) {
    String fmt = hi - lo < 1 ? "%.3f" : hi - lo < 10 ? "%.2f" : "%.1f";
    for (int i = 0; i <= 5; i++) {
      int y = TOP + PLOT_H - (int) (PLOT_H * i / 5.0);
      g.setColor(new Color(0xDDDDDD));
      g.drawLine(LEFT + 1, y, LEFT + PLOT_W, y);
      g.setColor(Color.BLACK);
      g.drawString(String.format(fmt, lo + (hi - lo) * i / 5), 10, y + 4);
    }
    g.drawString(label, 10, TOP - 10);
  }

  /** Coloured keys under the x axis, wrapping onto a second row when they do not fit. */
  private static void legend(Graphics2D g, List<String> names) {
    int x = LEFT;
    int y = H - 50;
    for (int si = 0; si < names.size(); si++) {
      int width = 30 + g.getFontMetrics().stringWidth(names.get(si));
      if (x > LEFT && x + width > W - RIGHT) {
        x = LEFT;
        y += 22;
      }
      g.setColor(SERIES[si % SERIES.length]);
      g.fillRect(x, y - 12, 14, 14);
      g.setColor(Color.BLACK);
      g.drawString(names.get(si), x + 20, y);
      x += width;
    }
  }

  private static void write(BufferedImage img, Graphics2D g, Path png) {
    g.dispose();
    try {
      ImageIO.write(img, "png", png.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + png, e);
    }
  }
}
