/**
 * What a language adds to ICU's sentence boundaries (Intl.Segmenter): the
 * words after which a period does not end a sentence. ICU's own rules know
 * no abbreviations (V8 ignores the `-u-ss-standard` suppressions), so "Mr.",
 * "U.S." before a capitalized word, or German "3." before a month are
 * decided here. Words are compared in lower case, without their final period.
 */

/** One language's abbreviation knowledge. */
export interface SentenceRules {
  /** The BCP 47 tag given to Intl.Segmenter ('und' when the caller's tag was unusable). */
  locale: string;
  /** The language subtag, lower case ('en', 'de', …). */
  base: string;
  /** Never end a sentence: titles before names, "e.g.", "z.B." … */
  never: ReadonlySet<string>;
  /** Do not end a sentence when a number follows: "No. 5", "S. 12", "Art. 3". */
  beforeNumber: ReadonlySet<string>;
  /** End a sentence only when a word that often starts one follows: "etc. Then" ends, "U.S. Army" does not. */
  maybe: ReadonlySet<string>;
  /** Words that often start a sentence (for `maybe` and dotted abbreviations such as "U.S."). */
  starters: ReadonlySet<string>;
  /** Words after which a number with a period is an ordinal ("3. Oktober"); empty where ordinals take no period. */
  ordinalNouns: ReadonlySet<string>;
  /** Whether a lone capital letter with a period is an initial ("J. Smith"); "I." is English's exception. */
  loneI: boolean;
  /** French spacing: a space between the stop and a closing » belongs to the quote. */
  spacedGuillemets: boolean;
  /** Japanese: 「…。」と / 「…。」って quote a sentence inside another. */
  quoteParticles: boolean;
}

const words = (text: string): Set<string> => new Set(text.trim().split(/\s+/u));

/** Abbreviations that Latin-script languages share (units, Latin, titles). */
const COMMON_NEVER = 'dr prof mr mrs ms mx e.g i.e cf vs viz approx ca ibid';
const COMMON_MAYBE = 'etc';

interface LanguageData {
  never?: string;
  beforeNumber?: string;
  maybe?: string;
  starters?: string;
  ordinalNouns?: string;
}

const GERMAN_MONTHS =
  'januar jänner februar feber märz april mai juni juli august september oktober november dezember jan feb mär mrz apr jun jul aug sep sept okt nov dez';

const DATA: Record<string, LanguageData> = {
  en: {
    never: 'mrs mr ms dr rev hon gen col capt cpt lt sgt maj gov sen rep pres supt insp fr messrs mmes eg ie mt',
    beforeNumber: 'no nos nr vol vols fig figs p pp ch chap sec sect art para eq eqs ed op pt',
    maybe: 'inc ltd co corp bros al esp jr sr ave blvd rd st ft dept est govt univ a.m p.m min max',
    starters: `the a an this that these those there then it its he she we they i you my our your his her their in on at but and
      so if when what why how who where which however also after before as for yes no not now today please let all some one many most
      is are was were do does did can could would should will may might here thus therefore meanwhile still even just only each every
      both while since because although though once from with by to of about us me him them later soon finally first next`,
  },
  de: {
    never: 'z.b zb d.h dh u.a u.ä o.ä bzw vgl evtl ggf inkl exkl zzgl bspw sog hr hrn fr frl dipl ing u.u a.d i.d s.o s.u o.g nr abt str',
    beforeNumber: 's abs bd nr art kap ziff',
    maybe: 'usw etc jh jhd mio mrd tsd ca',
    starters: `der die das den dem des ein eine einer einem einen ich du er sie es wir ihr man dann aber und doch so wenn als auch da
      dort hier heute nun jetzt dies diese dieser dieses was wie wo warum wer im in am an auf mit nach bei für zum zur ja nein nicht
      mein meine unser unsere sein seine ihre deshalb daher danach trotzdem außerdem allerdings zudem bitte vielleicht alle viele
      einige später schließlich zuerst`,
    ordinalNouns: `${GERMAN_MONTHS} jahrhundert jahrtausend jahrestag geburtstag klasse liga bundesliga platz stock etage auflage mal
      runde spieltag kapitel weltkrieg advent lebensjahr semester quartal`,
  },
  fr: {
    never: 'mm mme mmes mlle mlles me mgr pr ste st p.ex env av bd',
    beforeNumber: 'n no p pp vol chap art fig',
    maybe: 'etc cie',
    starters: `le la les l un une des il elle ils elles on nous vous je j ce cette ces cet c mais et donc puis alors si quand en dans
      au aux pour avec sur après avant oui non ensuite enfin aujourd voici voilà mon ma mes notre nos son sa ses leur leurs tout tous
      cependant pourtant ainsi`,
  },
  es: {
    never: 'sr sra srta sres sras srs dr dra lic ing prof profa ud uds vd vds dña p.ej aprox av avda ee',
    beforeNumber: 'n núm nº pág págs art cap vol fig',
    maybe: 'etc cía uu',
    starters: `el la los las un una unos unas yo tú él ella nosotros nosotras ellos ellas usted ustedes pero y entonces luego si
      cuando en con para por este esta estos estas ese esa eso esto hoy sí no también después antes así mi mis su sus nuestro
      nuestra todo todos todas hay es era fue`,
  },
};

const cache = new Map<string, SentenceRules>();

/** The locale Intl.Segmenter accepts for a tag, and its language subtag; an unusable tag counts as undetermined. */
function resolveTag(tag: string): { locale: string; base: string } {
  for (const candidate of [tag, tag.replace(/_/g, '-')]) {
    try {
      const [locale] = Intl.getCanonicalLocales(candidate);
      if (locale) return { locale, base: new Intl.Locale(locale).language.toLowerCase() };
    } catch {
      // not a well-formed tag; try the next spelling
    }
  }
  return { locale: 'und', base: tag.split(/[-_]/)[0].toLowerCase() };
}

/** The rules for a BCP 47 tag ('de-DE' uses German's); languages without data get the shared ones. */
export function sentenceRules(language = 'en'): SentenceRules {
  const cached = cache.get(language);
  if (cached) return cached;
  const { locale, base } = resolveTag(language);
  const data = DATA[base] ?? {};
  const rules: SentenceRules = {
    locale,
    base,
    never: words(`${COMMON_NEVER} ${data.never ?? ''}`),
    beforeNumber: words(data.beforeNumber ?? ''),
    maybe: words(`${COMMON_MAYBE} ${data.maybe ?? ''}`),
    starters: words(data.starters ?? ''),
    ordinalNouns: words(data.ordinalNouns ?? ''),
    loneI: base === 'en',
    spacedGuillemets: base === 'fr',
    quoteParticles: base === 'ja',
  };
  for (const set of [rules.never, rules.beforeNumber, rules.maybe, rules.starters, rules.ordinalNouns] as Set<string>[]) set.delete('');
  if (cache.size >= 64) cache.clear(); // a few languages in practice; never unbounded
  cache.set(language, rules);
  return rules;
}
