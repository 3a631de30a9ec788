package corebert.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/** A few documents of the Brown Corpus (tags stripped) and a vocab that covers them. */
final class TestCorpus {
  /** Six documents from Brown ca01-ca06, seven sentences each, one sentence per line. */
  static final String TEXT =
      """
      The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence" that any irregularities took place .
      The jury further said in term-end presentments that the City Executive Committee , which had over-all charge of the election , "deserves the praise and thanks of the City of Atlanta" for the manner in which the election was conducted .
      The September-October term jury had been charged by Fulton Superior Court Judge Durwood Pye to investigate reports of possible "irregularities" in the hard-fought primary which was won by Mayor-nominate Ivan Allen Jr. .
      "Only a relative handful of such reports was received" , the jury said , "considering the widespread interest in the election , the number of voters and the size of this city" .
      The jury said it did find that many of Georgia's registration and election laws "are outmoded or inadequate and often ambiguous" .
      It recommended that Fulton legislators act "to have these laws studied and revised to the end of modernizing and improving them" .
      The grand jury commented on a number of other topics , among them the Atlanta and Fulton County purchasing departments which it said "are well operated and follow generally accepted practices which inure to the best interest of both governments" .

      Austin , Texas
      -- Committee approval of Gov. Price Daniel's "abandoned property" act seemed certain Thursday despite the adamant protests of Texas bankers .
      Daniel personally led the fight for the measure , which he had watered down considerably since its rejection by two previous Legislatures , in a public hearing before the House Committee on Revenue and Taxation .
      Under committee rules , it went automatically to a subcommittee for one week .
      But questions with which committee members taunted bankers appearing as witnesses left little doubt that they will recommend passage of it .
      Daniel termed "extremely conservative" his estimate that it would produce 17 million dollars to help erase an anticipated deficit of 63 million dollars at the end of the current fiscal year next Aug. 31 .
      He told the committee the measure would merely provide means of enforcing the escheat law which has been on the books "since Texas was a republic" .

      Several defendants in the Summerdale police burglary trial made statements indicating their guilt at the time of their arrest , Judge James B. Parsons was told in Criminal court yesterday .
      The disclosure by Charles Bellows , chief defense counsel , startled observers and was viewed as the prelude to a quarrel between the six attorneys representing the eight former policemen now on trial .
      Bellows made the disclosure when he asked Judge Parsons to grant his client , Alan Clements , 30 , a separate trial .
      Bellows made the request while the all-woman jury was out of the courtroom .
      Fears prejudicial aspects
      "The statements may be highly prejudicial to my client" , Bellows told the court .
      "Some of the defendants strongly indicated they knew they were receiving stolen property .

      Oslo
      The most positive element to emerge from the Oslo meeting of North Atlantic Treaty Organization Foreign Ministers has been the freer , franker , and wider discussions , animated by much better mutual understanding than in past meetings .
      This has been a working session of an organization that , by its very nature , can only proceed along its route step by step and without dramatic changes .
      In Oslo , the ministers have met in a climate of candor , and made a genuine attempt to get information and understanding one another's problems .
      This atmosphere of understanding has been particularly noticeable where relations are concerned between the "colonialist" powers and those who have never , or not for a long time , had such problems .
      The nightmare of a clash between those in trouble in Africa , exacerbated by the difficulties , changes , and tragedies facing them , and other allies who intellectually and emotionally disapprove of the circumstances that have brought these troubles about , has been conspicuous by its absence .
      Explosion avoided

      East Providence should organize its civil defense setup and begin by appointing a full-time director , Raymond H. Hawksley , the present city CD head , believes .
      Mr. Hawksley said yesterday he would be willing to go before the city council "or anyone else locally" to outline his proposal at the earliest possible time .
      East Providence now has no civil defense program .
      Mr. Hawksley , the state's general treasurer , has been a part-time CD director in the city for the last nine years .
      He is not interested in being named a full-time director .
      Noting that President Kennedy has handed the Defense Department the major responsibility for the nation's civil defense program , Mr. Hawksley said the federal government would pay half the salary of a full-time local director .
      He expressed the opinion the city could hire a CD director for about $3,500 a year and would only have to put up half that amount on a matching fund basis to defray the salary costs .

      Plainfield
      -- James P. Mitchell and Sen. Walter H. Jones R-Bergen , last night disagreed on the value of using as a campaign issue a remark by Richard J. Hughes , Democratic gubernatorial candidate , that the GOP is "Campaigning on the carcass of Eisenhower Republicanism" .
      Mitchell was for using it , Jones against , and Sen. Wayne Dumont Jr. R-Warren did not mention it when the three Republican gubernatorial candidates spoke at staggered intervals before 100 persons at the Park Hotel .
      The controversial remark was first made Sunday by Hughes at a Westfield Young Democratic Club cocktail party at the Scotch Plains Country Club .
      It was greeted with a chorus of boos by 500 women in Trenton Monday at a forum of the State Federation of Women's Clubs .
      Hughes said Monday , "It is the apparent intention of the Republican Party to campaign on the carcass of what they call Eisenhower Republicanism , but the heart stopped beating and the lifeblood congealed after Eisenhower retired .
      Now he's gone , the Republican Party is not going to be able to sell the tattered remains to the people of the state" .
      """;

  private TestCorpus() {}

  /** Writes {@link #TEXT} to {@code dir/name}. */
  static Path writeText(Path dir, String name) {
    return write(dir.resolve(name), TEXT);
  }

  /**
   * Writes a vocab.txt: the special tokens, every word seen at least twice, and every character
   * both alone and as a {@code ##} piece, so rare words become several pieces and nothing is [UNK].
   */
  static Path writeVocab(Path dir) {
    Map<String, Integer> counts = new HashMap<>();
    TreeSet<String> chars = new TreeSet<>();
    for (String word : TEXT.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
      if (!word.isEmpty()) {
        counts.merge(word, 1, Integer::sum);
      }
    }
    TEXT.toLowerCase(Locale.ROOT)
        .codePoints()
        .filter(c -> !Character.isWhitespace(c))
        .forEach(c -> chars.add(new String(Character.toChars(c))));
    List<String> tokens = new ArrayList<>(Vocab.SPECIAL_TOKENS);
    chars.forEach(tokens::add);
    chars.forEach(c -> tokens.add("##" + c));
    counts.entrySet().stream()
        .filter(e -> e.getValue() >= 2 && e.getKey().length() > 1)
        .map(Map.Entry::getKey)
        .sorted()
        .forEach(tokens::add);
    return write(dir.resolve("vocab.txt"), String.join("\n", tokens) + "\n");
  }

  static Path write(Path file, String content) {
    try {
      return Files.writeString(file, content, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
